using System.Net;
using Billing.Functions.Invoices;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Invoices;

[Collection(AppCollection.Name)]
public sealed class InvoiceStorageTests(AppFixture fixture)
{
    [Fact]
    public void A_transaction_refuses_a_row_of_another_partition()
    {
        var batch = new PartitionBatch("cus_A").Insert("inv|1", new { a = 1 });

        var error = Assert.Throws<InvalidOperationException>(() => batch.Add(Azure.Data.Tables.TableTransactionActionType.Add, new Azure.Data.Tables.TableEntity("cus_B", "inv|2"), default));

        Assert.Contains("cus_B", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => batch.Insert("inv|1", new { a = 2 }));
    }

    [Fact]
    public async Task An_account_number_reserved_before_a_crash_is_reused_by_the_same_invoice_and_never_handed_out_again()
    {
        await using var app = BillingScenario.CreateApp(fixture, new ScriptedCollector(),
            new Dictionary<string, string?> { ["Invoicing:Numbering"] = "account", ["Storage:NamePrefix"] = "reserve" });
        _ = app.Admin();
        var numbering = app.Services.GetRequiredService<AccountNumbering>();
        var now = DateTimeOffset.UtcNow;

        var (first, _) = await numbering.ReserveAsync("cus_crashed", "in_crashed", now);
        var (retried, _) = await numbering.ReserveAsync("cus_crashed", "in_crashed", now);
        var (next, _) = await numbering.ReserveAsync("cus_other", "in_other", now);

        Assert.Equal(first, retried);
        Assert.EndsWith("-000001", first, StringComparison.Ordinal);
        Assert.EndsWith("-000002", next, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Paying_the_first_invoice_out_of_band_activates_an_incomplete_subscription_and_schedules_its_renewal()
    {
        var (app, _) = ScriptedApp.For(fixture);
        var admin = app.Admin();
        var given = new BillingScenario(admin);
        var price = await given.PriceAsync(700);
        var customer = await given.CustomerAsync("declined");
        var sub = await given.SubscribeAsync(customer, price);
        Assert.Equal("incomplete", (string?)sub["status"]);

        var paid = await admin.PostJsonAsync($"/api/invoices/{sub["latest_invoice"]}/pay", new { paid_out_of_band = true });

        Assert.Equal(HttpStatusCode.OK, paid.Status);
        var now = await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}");
        Assert.Equal("active", (string?)now.Body["status"]);
        Assert.Equal("renewal", (string?)now.Body["next_action"]!["kind"]);
        var work = await app.Services.GetRequiredService<Domain.Scheduling.IScheduleStore>().ListForCustomerAsync(customer);
        Assert.Contains(work, w => w.Kind == "renewal" && w.ExpectedVersion == (long)now.Body["version"]!);
    }
}
