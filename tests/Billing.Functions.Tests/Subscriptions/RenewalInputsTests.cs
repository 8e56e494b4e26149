using System.Net;
using System.Text.Json.Nodes;
using Billing.Domain.Invoicing;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Subscriptions;

/// <summary>
/// What a renewal bills against without a table query: the subscription's ledger of invoiced periods and the customer's
/// pending-items marker, and the listing kept for a subscription stored before the ledger.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class RenewalInputsTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly HttpClient admin;
    private readonly BillingScenario given;
    private readonly TableInvoicingStore store;

    public RenewalInputsTests(AppFixture fixture)
    {
        var app = ScriptedApp.For(fixture).App;
        admin = app.Admin();
        given = new BillingScenario(admin);
        store = app.Services.GetRequiredService<TableInvoicingStore>();
    }

    [Fact]
    public async Task Prorations_are_billed_once_by_the_next_renewal_and_a_deleted_drafts_prorations_by_the_one_after()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        Assert.False(await MayHavePendingAsync(customer)); // a new customer has none
        var basic = await given.PriceAsync(1000, productName: "Basic");
        var pro = await given.PriceAsync(3000, productName: "Pro");
        var sub = await given.SubscribeAsync(customer, basic);
        var id = (string)sub["id"]!;
        var item = (string)sub["items"]![0]!["id"]!;
        var (start, end) = ((DateTimeOffset)sub["current_period_start"]!, (DateTimeOffset)sub["current_period_end"]!);

        var upgradeAt = Start.AddDays(10);
        await AdvanceAsync(clock, upgradeAt);
        var upgraded = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { items = new[] { new { id = item, price = pro } }, proration_behavior = "create_prorations" });
        Assert.Equal(HttpStatusCode.OK, upgraded.Status);
        Assert.True(await MayHavePendingAsync(customer));
        var remaining = end.ToUnixTimeSeconds() - upgradeAt.ToUnixTimeSeconds();
        var period = end.ToUnixTimeSeconds() - start.ToUnixTimeSeconds();
        var credit = -BillingScenario.Prorate(1000, remaining, period);
        var charge = BillingScenario.Prorate(3000, remaining, period);

        await AdvanceAsync(clock, end.AddHours(1));
        var second = await LatestInvoiceAsync(id);
        Assert.Equal([3000, credit, charge], Amounts(second));
        Assert.Equal(3000 + credit + charge, (long)second["total"]!);
        Assert.Equal("paid", (string?)second["status"]);

        var next = (DateTimeOffset)(await admin.GetJsonAsync($"/api/subscriptions/{id}")).Body["current_period_end"]!;
        await AdvanceAsync(clock, next.AddHours(1));
        var third = await LatestInvoiceAsync(id);
        Assert.Equal([3000], Amounts(third)); // the prorations were billed once
        Assert.False(await MayHavePendingAsync(customer)); // that renewal listed none and cleared the marker

        // Prorations taken by a standalone draft come back when the draft is deleted, and the next renewal bills them.
        var twice = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { items = new[] { new { id = item, quantity = 2 } }, proration_behavior = "create_prorations" });
        Assert.Equal(HttpStatusCode.OK, twice.Status);
        var draft = await admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd" });
        Assert.Equal(HttpStatusCode.Created, draft.Status);
        var prorations = Amounts(draft.Body);
        Assert.Equal(2, prorations.Count);
        Assert.False(await MayHavePendingAsync(customer) && (await store.PendingItemsAsync(customer)).Count > 0); // all taken by the draft
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteJsonAsync($"/api/invoices/{draft.Id()}")).Status);
        Assert.True(await MayHavePendingAsync(customer));

        var last = (DateTimeOffset)(await admin.GetJsonAsync($"/api/subscriptions/{id}")).Body["current_period_end"]!;
        await AdvanceAsync(clock, last.AddHours(1));
        var fourth = await LatestInvoiceAsync(id);
        Assert.Equal([6000, .. prorations], Amounts(fourth));

        var all = await SubscriptionInvoicesAsync(customer, id);
        Assert.Equal(4, all.Count);
        Assert.Equal(4, all.Select(i => (DateTimeOffset)i["period"]!["start"]!).Distinct().Count());
        var stored = (await store.GetSubscriptionAsync(customer, id))!.Value;
        Assert.Equal(4, stored.Invoiced!.Count); // one cycle line per invoice, none twice
        Assert.Equal(4, stored.Invoiced.Select(i => i.PeriodStart).Distinct().Count());
    }

    [Fact]
    public async Task A_subscription_stored_before_the_ledger_renews_once_per_period_from_its_listed_invoices()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        var sub = await given.SubscribeAsync(customer, await given.PriceAsync(2500));
        var id = (string)sub["id"]!;
        var stored = (await store.GetSubscriptionAsync(customer, id))!;
        Assert.Single(stored.Value.Invoiced!);
        var legacy = stored.Value with { Invoiced = null };
        Assert.True(await store.Table.TryReplaceAsync(customer, TableInvoicingStore.SubscriptionRow(id), legacy, stored.ETag, TableInvoicingStore.SubscriptionColumns(legacy)));

        await AdvanceAsync(clock, Start.AddMonths(2).AddHours(1));

        var invoices = await SubscriptionInvoicesAsync(customer, id);
        Assert.Equal(3, invoices.Count);
        Assert.Equal(3, invoices.Select(i => (DateTimeOffset)i["period"]!["start"]!).Distinct().Count());
        Assert.All(invoices, i => Assert.Equal(2500, (long)i["total"]!));
        Assert.Null((await store.GetSubscriptionAsync(customer, id))!.Value.Invoiced); // stays on the listing
    }

    [Fact]
    public async Task The_pending_marker_is_trusted_only_when_clear_and_cleared_only_if_unchanged_since_read()
    {
        var customer = "cus_marker" + Guid.NewGuid().ToString("N")[..10];
        var item = new PendingInvoiceItem
        {
            Id = "ii_" + Guid.NewGuid().ToString("N")[..20],
            CustomerId = customer,
            Currency = "usd",
            Amount = 1234,
            Description = "One-off",
            Created = Start,
        };

        // No marker: listed (one item), marker left absent because something was found.
        await new PartitionBatch(customer).Insert(TableInvoicingStore.PendingItemRow(item.Id), item).TrySubmitAsync(store.Client);
        Assert.Equal([1234L], (await store.PendingItemsIfAnyAsync(customer)).Select(p => p.Value.Amount));
        Assert.Null(await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow));

        // Marker set by an insert's transaction: listed.
        Assert.True(await TableInvoicingStore.MarkPending(new PartitionBatch(customer)).TrySubmitAsync(store.Client));
        Assert.Single(await store.PendingItemsIfAnyAsync(customer));

        // Consumed: the next listing finds none and clears the marker; after that nothing is listed.
        var listed = await store.PendingItemsAsync(customer);
        await new PartitionBatch(customer).Delete(TableInvoicingStore.PendingItemRow(item.Id), listed[0].ETag).TrySubmitAsync(store.Client);
        Assert.Empty(await store.PendingItemsIfAnyAsync(customer));
        Assert.False((await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow))!.Value.Value.MayHaveItems);

        // A clear with an ETag read before an insert set the marker again does nothing.
        var read = (await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow))!.Value.ETag;
        Assert.True(await TableInvoicingStore.MarkPending(new PartitionBatch(customer).Insert(TableInvoicingStore.PendingItemRow(item.Id), item)).TrySubmitAsync(store.Client));
        await store.ClearPendingMarkerAsync(customer, read);
        Assert.True((await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow))!.Value.Value.MayHaveItems);
        Assert.Single(await store.PendingItemsIfAnyAsync(customer));

        // A clear of an absent marker inserts it only if still absent.
        await store.ClearPendingMarkerAsync(customer, null);
        Assert.True((await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow))!.Value.Value.MayHaveItems);
    }

    private Task<(string Clock, string Customer)> ClockedCustomerAsync() => given.ClockedCustomerAsync(Start, name: "Ledger");

    private Task AdvanceAsync(string clock, DateTimeOffset to) => given.AdvanceAsync(clock, to);

    private async Task<bool> MayHavePendingAsync(string customer) =>
        await store.Table.GetAsync<PendingMarker>(customer, TableInvoicingStore.PendingMarkerRow) is not { Value.MayHaveItems: false };

    private async Task<JsonNode> LatestInvoiceAsync(string subscription) =>
        await given.InvoiceAsync((string)(await admin.GetJsonAsync($"/api/subscriptions/{subscription}")).Body["latest_invoice"]!);

    private async Task<List<JsonNode>> SubscriptionInvoicesAsync(string customer, string subscription) =>
        [.. (await admin.GetJsonAsync($"/api/invoices?customer={customer}&subscription={subscription}&limit=100")).Body["data"]!.AsArray().Select(i => i!)];

    private static List<long> Amounts(JsonNode invoice) => [.. invoice["lines"]!.AsArray().Select(l => (long)l!["amount"]!)];
}
