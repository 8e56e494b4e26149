using System.Globalization;
using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;

namespace Billing.Functions.Tests.Invoices;

[Collection(AppCollection.Name)]
public sealed class NumberingConcurrencyTests(AppFixture fixture)
{
    private const int Count = 20;

    [Fact]
    public async Task Parallel_finalizes_on_two_instances_number_one_customers_invoices_1_to_20_without_gaps_or_duplicates()
    {
        var collector = new ScriptedCollector();
        await using var first = BillingScenario.CreateApp(fixture, collector);
        await using var second = BillingScenario.CreateApp(fixture, collector);
        var admin = first.Admin();
        var customer = await new BillingScenario(admin).CustomerAsync();
        var drafts = await DraftsAsync(admin, Enumerable.Repeat(customer, Count));

        var numbers = await FinalizeInParallelAsync(first, second, drafts);

        var prefix = (string)(await admin.GetJsonAsync($"/api/customers/{customer}")).Body["invoice_prefix"]!;
        Assert.Equal(Enumerable.Range(1, Count).Select(n => $"{prefix}-{n:D4}"), numbers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Parallel_finalizes_on_two_instances_take_account_wide_numbers_1_to_20_across_customers()
    {
        var settings = new Dictionary<string, string?> { ["Invoicing:Numbering"] = "account", ["Storage:NamePrefix"] = "numbering" };
        var collector = new ScriptedCollector();
        await using var first = BillingScenario.CreateApp(fixture, collector, settings);
        await using var second = BillingScenario.CreateApp(fixture, collector, settings);
        var admin = first.Admin();
        var given = new BillingScenario(admin);
        var customers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            customers.Add(await given.CustomerAsync());
        }

        var drafts = await DraftsAsync(admin, Enumerable.Range(0, Count).Select(i => customers[i % customers.Count]));

        var numbers = await FinalizeInParallelAsync(first, second, drafts);

        var year = DateTimeOffset.UtcNow.Year.ToString("D4", CultureInfo.InvariantCulture);
        Assert.Equal(Enumerable.Range(1, Count).Select(n => $"INV-{year}-{n:D6}"), numbers.Order(StringComparer.Ordinal));
    }

    private static async Task<List<string>> DraftsAsync(HttpClient admin, IEnumerable<string> customers)
    {
        var ids = new List<string>();
        foreach (var customer in customers)
        {
            var draft = await admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items = new[] { new { description = "Item", unit_amount = 100, quantity = 1 } } });
            Assert.Equal(HttpStatusCode.Created, draft.Status);
            ids.Add(draft.Id());
        }

        return ids;
    }

    private static async Task<string[]> FinalizeInParallelAsync(BillingApp first, BillingApp second, List<string> drafts)
    {
        var clients = new[] { first.Admin(), second.Admin() };
        var results = await Task.WhenAll(drafts.Select((id, i) => Task.Run(() => clients[i % 2].PostJsonAsync($"/api/invoices/{id}/finalize"))));
        Assert.All(results, r => Assert.True(r.Status == HttpStatusCode.OK, r.Body.ToJsonString()));
        return [.. results.Select(r => (string)r.Body["number"]!)];
    }
}
