using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Subscriptions;

/// <summary>Subscriptions living through months in seconds: customers on test clocks, advanced through their scheduled steps.</summary>
[Collection(AppCollection.Name)]
public sealed class SubscriptionTimelineTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 31, 9, 0, 0, TimeSpan.Zero);
    private readonly HttpClient admin;
    private readonly BillingScenario given;

    public SubscriptionTimelineTests(AppFixture fixture)
    {
        admin = ScriptedApp.For(fixture).App.Admin();
        given = new BillingScenario(admin);
    }

    private Task<(string Clock, string Customer)> ClockedCustomerAsync(string card = "visa") => given.ClockedCustomerAsync(Start, card);

    private Task AdvanceAsync(string clock, DateTimeOffset to) => given.AdvanceAsync(clock, to);

    private async Task<JsonArray> InvoicesAsync(string customer) =>
        (await admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=100")).Body["data"]!.AsArray();

    [Fact]
    public async Task A_trial_notifies_ends_into_a_paid_first_period_and_renews_a_month_later()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        var price = await given.PriceAsync(1000, trialDays: 14);
        var sub = await given.SubscribeAsync(customer, price);
        var id = (string)sub["id"]!;
        var trialEnd = Start.AddDays(14);

        await AdvanceAsync(clock, trialEnd.AddMonths(1).AddHours(1));

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{id}")).Body;
        Assert.Equal("active", (string?)now["status"]);
        Assert.Equal(trialEnd.AddMonths(1), (DateTimeOffset)now["current_period_start"]!);
        Assert.Equal(trialEnd.AddMonths(2), (DateTimeOffset)now["next_renewal_at"]!);
        var invoices = await InvoicesAsync(customer);
        Assert.Equal(2, invoices.Count);
        Assert.All(invoices, i => Assert.Equal("paid", (string?)i!["status"]));
        Assert.Equal([trialEnd.AddMonths(1), trialEnd], invoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!));
        Assert.Equal(["-0002", "-0001"], invoices.Select(i => ((string)i!["number"]!)[^5..]));
        var actions = (await admin.GetJsonAsync($"/api/subscriptions/{id}/history")).Body["data"]!.AsArray().Select(h => (string)h!["action"]!).Reverse();
        Assert.Equal(["create", "trial_will_end_notified", "trial_end", "invoice_created", "renew", "invoice_created"], actions);
        var notices = await admin.GetJsonAsync("/api/events?type=customer.subscription.trial_will_end&limit=100");
        Assert.Single(notices.Body["data"]!.AsArray(), e => (string?)e!["data"]!["id"] == id);
    }

    [Fact]
    public async Task A_renewal_applies_the_customer_credit_balance_and_charges_nothing_while_it_covers_the_invoice()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        var first = await given.SubscribeAsync(customer, await given.PriceAsync(3100));
        var second = await given.SubscribeAsync(customer, await given.PriceAsync(1000));
        // Canceled at once with proration while the clock stands at the period start: the whole period is credited.
        var canceled = await admin.PostJsonAsync($"/api/subscriptions/{first["id"]}/cancel", new { prorate = true, invoice_now = true });
        Assert.Equal(HttpStatusCode.OK, canceled.Status);
        Assert.Equal(-3100, (long)(await given.InvoiceAsync((string)canceled.Body["latest_invoice"]!))["ending_balance"]!);

        await AdvanceAsync(clock, Start.AddMonths(1).AddHours(1));

        var renewed = (await admin.GetJsonAsync($"/api/subscriptions/{second["id"]}")).Body;
        Assert.Equal("active", (string?)renewed["status"]);
        var invoice = await given.InvoiceAsync((string)renewed["latest_invoice"]!);
        Assert.NotEqual((string?)second["latest_invoice"], (string?)invoice["id"]);
        Assert.Equal(1000, (long)invoice["total"]!);
        Assert.Equal(-3100, (long)invoice["starting_balance"]!);
        Assert.Equal(-2100, (long)invoice["ending_balance"]!);
        Assert.Equal(0, (long)invoice["amount_due"]!);
        Assert.Equal("paid", (string?)invoice["status"]);
    }

    [Fact]
    public async Task An_unpaid_first_invoice_expires_the_subscription_after_23_hours_and_is_voided()
    {
        var (clock, customer) = await ClockedCustomerAsync("declined");
        var price = await given.PriceAsync(1000);
        var sub = await given.SubscribeAsync(customer, price);

        await AdvanceAsync(clock, Start.AddHours(22));
        Assert.Equal("incomplete", (string?)(await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body["status"]);
        await AdvanceAsync(clock, Start.AddDays(2));

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body;
        Assert.Equal("incomplete_expired", (string?)now["status"]);
        Assert.Null(now["next_action"]);
        Assert.Equal("void", (string?)(await given.InvoiceAsync((string)sub["latest_invoice"]!))["status"]);
    }

    [Fact]
    public async Task Cancel_at_period_end_ends_the_subscription_at_the_period_end_without_billing_again()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        var price = await given.PriceAsync(1000);
        var sub = await given.SubscribeAsync(customer, price);
        await admin.PatchJsonAsync($"/api/subscriptions/{sub["id"]}", new { cancel_at_period_end = true });

        await AdvanceAsync(clock, Start.AddMonths(3));

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body;
        Assert.Equal("canceled", (string?)now["status"]);
        Assert.Equal(new DateTimeOffset(2026, 2, 28, 9, 0, 0, TimeSpan.Zero), (DateTimeOffset)now["ended_at"]!);
        Assert.Single(await InvoicesAsync(customer));
    }

    [Fact]
    public async Task A_failed_renewal_makes_the_subscription_past_due_with_the_invoice_open()
    {
        var (clock, customer) = await ClockedCustomerAsync();
        var price = await given.PriceAsync(1000);
        var sub = await given.SubscribeAsync(customer, price);
        await admin.PatchJsonAsync($"/api/customers/{customer}", new { metadata = new Dictionary<string, string> { ["test_card"] = "insufficient_funds" } });

        await AdvanceAsync(clock, new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero));

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body;
        Assert.Equal("past_due", (string?)now["status"]);
        Assert.Equal("declined", (string?)now["latest_payment"]!["status"]);
        var renewal = await given.InvoiceAsync((string)now["latest_invoice"]!);
        Assert.Equal("open", (string?)renewal["status"]);
        Assert.Equal("subscription_cycle", (string?)renewal["billing_reason"]);
    }
}
