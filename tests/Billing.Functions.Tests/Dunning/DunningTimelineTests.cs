using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Disputes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Billing.Functions.Tests.Subscriptions;

namespace Billing.Functions.Tests.Dunning;

/// <summary>
/// Dunning on test clocks through the running app and the real gateway adapter against the Stripe emulator: renewals,
/// failed renewals, retries on <c>Dunning:RetryDays</c>, recovery, exhaustion, customer-needed declines and disputes.
/// Every emulator payment intent is one collection attempt (idempotency key <c>{invoice}:attempt:{n}</c>).
/// </summary>
[Collection(AppCollection.Name)]
public sealed class DunningTimelineTests(AppFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset FirstRenewal = Start.AddMonths(1);

    [Fact]
    public async Task Twelve_months_on_a_good_card_bill_twelve_invoices_with_one_charge_each()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);
        var sub = await SubscribeAsync(h, customer, price, quantity: 2);

        await AdvanceAsync(h, clock, Start.AddMonths(11).AddHours(1));

        var invoices = (await h.Admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=100")).Body["data"]!.AsArray();
        Assert.Equal(12, invoices.Count);
        Assert.All(invoices, i =>
        {
            Assert.Equal("paid", (string?)i!["status"]);
            Assert.Equal(5000, (long)i["amount_paid"]!);
            Assert.Equal(0, (long)i["amount_remaining"]!);
            Assert.Null(i["dunning"]);
        });
        Assert.Equal(Enumerable.Range(0, 12).Select(m => Start.AddMonths(m)).Reverse(), invoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!));
        Assert.Equal(12, h.Emulator.Count("payment_intent"));
        foreach (var listed in invoices)
        {
            var payment = (await GetAsync(h, $"/api/invoices/{listed!["id"]}"))["payment"]!;
            Assert.Equal(1, (int)payment["attempt"]!);
            Assert.Equal(5000, (long)h.Emulator.GetObject((string)payment["payment_id"]!)!["amount_received"]!);
        }

        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("active", (string?)now["status"]);
        Assert.Equal(Start.AddMonths(12), (DateTimeOffset)now["next_renewal_at"]!);
        Assert.Null(now["dunning"]);
    }

    [Fact]
    public async Task A_card_that_starts_failing_recovers_on_the_second_retry_after_a_good_card_is_attached()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");

        await AdvanceAsync(h, clock, FirstRenewal.AddHours(1));

        var failed = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("past_due", (string?)failed["status"]);
        var invoiceId = (string)failed["latest_invoice"]!;
        AssertDunning(failed["dunning"], attempt: 0, of: 4, next: FirstRenewal.AddDays(1), status: "scheduled", decline: "generic_decline");
        AssertDunning((await GetAsync(h, $"/api/invoices/{invoiceId}"))["dunning"], 0, 4, FirstRenewal.AddDays(1), "scheduled", "generic_decline");
        var schedule = (await GetAsync(h, $"/api/customers/{customer}/schedule"))["data"]!.AsArray();
        Assert.Contains(schedule, w => (string?)w!["kind"] == "payment_retry" && (string?)w["target"] == invoiceId
            && (DateTimeOffset)w["due_at"]! == FirstRenewal.AddDays(1) && (string?)w["test_clock"] == clock);
        Assert.Equal(2, h.Emulator.Count("payment_intent"));

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(1).AddHours(1));
        var afterFirstRetry = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("past_due", (string?)afterFirstRetry["status"]);
        AssertDunning(afterFirstRetry["dunning"], 1, 4, FirstRenewal.AddDays(3), "scheduled", "generic_decline");
        Assert.Equal(3, h.Emulator.Count("payment_intent"));

        await MakeDefaultAsync(h, customer, "pm_card_visa");
        await AdvanceAsync(h, clock, FirstRenewal.AddDays(3).AddHours(1));

        var recovered = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("active", (string?)recovered["status"]);
        Assert.Null(recovered["dunning"]);
        var invoice = await GetAsync(h, $"/api/invoices/{invoiceId}");
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Null(invoice["dunning"]);
        Assert.Equal(3, (int)invoice["payment"]!["attempt"]!);
        Assert.Equal(4, h.Emulator.Count("payment_intent"));

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(10));
        Assert.Equal(4, h.Emulator.Count("payment_intent"));
        Assert.DoesNotContain((await GetAsync(h, $"/api/customers/{customer}/schedule"))["data"]!.AsArray(), w => (string?)w!["kind"] == "payment_retry");
        var paidEvents = (await GetAsync(h, "/api/events?type=invoice.paid&limit=100"))["data"]!.AsArray();
        Assert.Single(paidEvents, e => (string?)e!["data"]!["id"] == invoiceId);
    }

    [Fact]
    public async Task A_card_that_never_recovers_makes_the_subscription_unpaid_after_four_retries()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(6).AddHours(1));
        var stillTrying = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("past_due", (string?)stillTrying["status"]);
        AssertDunning(stillTrying["dunning"], 3, 4, FirstRenewal.AddDays(7), "scheduled", "generic_decline");

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(9));

        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("unpaid", (string?)now["status"]);
        AssertDunning(now["dunning"], 4, 4, null, "exhausted", "generic_decline");
        var invoice = await GetAsync(h, $"/api/invoices/{now["latest_invoice"]}");
        Assert.Equal("open", (string?)invoice["status"]);
        Assert.Equal(5, (int)invoice["payment"]!["attempt"]!);
        Assert.Equal(1 + 5, h.Emulator.Count("payment_intent"));
        var history = (await GetAsync(h, $"/api/subscriptions/{sub}/history"))["data"]!.AsArray();
        Assert.Contains(history, e => (string?)e!["action"] == "mark_unpaid" && (string?)e["actor"] == "dunning");
    }

    [Fact]
    public async Task With_outcome_canceled_and_mark_uncollectible_exhausted_retries_cancel_and_write_off()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?>
        {
            ["Dunning:RetryDays"] = "1,2",
            ["Dunning:ExhaustedOutcome"] = "canceled",
            ["Dunning:MarkUncollectible"] = "true",
        });
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(5));

        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("canceled", (string?)now["status"]);
        Assert.Null(now["next_action"]);
        var invoice = await GetAsync(h, $"/api/invoices/{now["latest_invoice"]}");
        Assert.Equal("uncollectible", (string?)invoice["status"]);
        Assert.Equal("exhausted", (string?)invoice["dunning"]!["status"]);
        Assert.Equal(2, (int)invoice["dunning"]!["of"]!);
        Assert.Equal(1 + 3, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_card_needing_authentication_waits_for_the_customer_without_automatic_retries_until_a_new_card_pays()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_authenticationRequired");

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(10));

        var waiting = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("past_due", (string?)waiting["status"]);
        AssertDunning(waiting["dunning"], 0, 4, null, "awaiting_customer", "authentication_required");
        Assert.Equal(2, h.Emulator.Count("payment_intent"));
        Assert.DoesNotContain((await GetAsync(h, $"/api/customers/{customer}/schedule"))["data"]!.AsArray(), w => (string?)w!["kind"] == "payment_retry");
        var invoiceId = (string)waiting["latest_invoice"]!;
        var asked = (await GetAsync(h, "/api/events?type=invoice.payment_action_required&limit=100"))["data"]!.AsArray();
        Assert.Contains(asked, e => (string?)e!["data"]!["id"] == invoiceId);

        // Off-session, 3-D Secure is a decline (requires_payment_method): the customer brings a card that works.
        Assert.Equal("requires_payment_method", (string?)h.Emulator.GetObject((string)waiting["latest_payment"]!["payment_id"]!)!["status"]);
        await MakeDefaultAsync(h, customer, "pm_card_visa");
        var paid = await h.Admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay");
        Assert.True(paid.Status == HttpStatusCode.OK, paid.Body.ToJsonString());

        var recovered = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("active", (string?)recovered["status"]);
        Assert.Null(recovered["dunning"]);
        Assert.Equal("paid", (string?)(await GetAsync(h, $"/api/invoices/{invoiceId}"))["status"]);
        Assert.Equal(3, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task Paying_the_invoice_before_the_scheduled_retry_makes_the_retry_a_no_op()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");
        await AdvanceAsync(h, clock, FirstRenewal.AddHours(1));
        var invoiceId = (string)(await GetAsync(h, $"/api/subscriptions/{sub}"))["latest_invoice"]!;
        Assert.Equal("scheduled", (string?)(await GetAsync(h, $"/api/invoices/{invoiceId}"))["dunning"]!["status"]);

        await MakeDefaultAsync(h, customer, "pm_card_visa");
        var paid = await h.Admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay");
        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal("paid", (string?)paid.Body["status"]);
        Assert.Equal(3, h.Emulator.Count("payment_intent"));

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(10));

        Assert.Equal(3, h.Emulator.Count("payment_intent"));
        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("active", (string?)now["status"]);
        Assert.Null(now["dunning"]);
        Assert.Null((await GetAsync(h, $"/api/invoices/{invoiceId}"))["dunning"]);
    }

    [Fact]
    public async Task A_payment_intent_succeeded_webhook_before_the_scheduled_retry_recovers_the_invoice_and_the_retry_is_a_no_op()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");
        await AdvanceAsync(h, clock, FirstRenewal.AddHours(1));
        var invoiceId = (string)(await GetAsync(h, $"/api/subscriptions/{sub}"))["latest_invoice"]!;

        // The customer pays with a card whose payment is still processing: the outcome arrives later, by webhook.
        await MakeDefaultAsync(h, customer, "pm_card_visa");
        h.Emulator.MakeNextPaymentsProcessing();
        var pending = await h.Admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay");
        Assert.NotEqual(HttpStatusCode.OK, pending.Status);
        Assert.Equal("open", (string?)(await GetAsync(h, $"/api/invoices/{invoiceId}"))["status"]);
        h.Emulator.SettleProcessingPayments();
        await h.DrainEventsAsync();

        var invoice = await GetAsync(h, $"/api/invoices/{invoiceId}");
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Null(invoice["dunning"]);
        Assert.Equal("active", (string?)(await GetAsync(h, $"/api/subscriptions/{sub}"))["status"]);
        Assert.Equal(3, h.Emulator.Count("payment_intent"));

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(10));
        Assert.Equal(3, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_dispute_stops_the_customers_retries_and_cancels_the_subscription_when_so_configured()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Disputes:SubscriptionPolicy"] = "cancel" });
        var (clock, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        var firstPayment = (string)(await GetAsync(h, $"/api/subscriptions/{sub}"))["latest_payment"]!["payment_id"]!;
        await MakeDefaultAsync(h, customer, "pm_card_chargeCustomerFail");
        await AdvanceAsync(h, clock, FirstRenewal.AddHours(1));
        var renewal = (string)(await GetAsync(h, $"/api/subscriptions/{sub}"))["latest_invoice"]!;
        Assert.Equal(2, h.Emulator.Count("payment_intent"));

        h.Emulator.CreateDispute((string)h.Emulator.GetObject(firstPayment)!["latest_charge"]!);
        await h.DrainEventsAsync();

        var dispute = await h.SingleDisputeAsync(customer);
        Assert.Equal(["dunning_stopped", "dunning_stopped:" + renewal, "subscription_canceled:" + sub], dispute["policy_actions"]!.AsArray().Select(a => (string?)a));
        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("canceled", (string?)now["status"]);
        var history = (await GetAsync(h, $"/api/subscriptions/{sub}/history"))["data"]!.AsArray();
        Assert.Contains(history, e => (string?)e!["action"] == "cancel" && (string?)e["actor"] == "dispute");
        var invoice = await GetAsync(h, $"/api/invoices/{renewal}");
        Assert.Equal("stopped", (string?)invoice["dunning"]!["status"]);
        Assert.Equal("dispute", (string?)invoice["dunning"]!["stopped_by"]);

        await AdvanceAsync(h, clock, FirstRenewal.AddDays(10));
        Assert.Equal(2, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_dispute_with_pause_collection_pauses_the_subscription_collection()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?>
        {
            ["Disputes:SubscriptionPolicy"] = "pause_collection",
            ["Disputes:StopDunningOnDispute"] = "false",
        });
        var (_, customer, _) = await ClockedCustomerAsync(h, "pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2000);
        var sub = await SubscribeAsync(h, customer, price);
        var firstPayment = (string)(await GetAsync(h, $"/api/subscriptions/{sub}"))["latest_payment"]!["payment_id"]!;

        h.Emulator.CreateDispute((string)h.Emulator.GetObject(firstPayment)!["latest_charge"]!);
        await h.DrainEventsAsync();

        var dispute = await h.SingleDisputeAsync(customer);
        Assert.Equal(["subscription_collection_paused:" + sub], dispute["policy_actions"]!.AsArray().Select(a => (string?)a));
        var now = await GetAsync(h, $"/api/subscriptions/{sub}");
        Assert.Equal("active", (string?)now["status"]);
        Assert.Equal("keep_as_draft", (string?)now["pause_collection"]!["behavior"]);
        var history = (await GetAsync(h, $"/api/subscriptions/{sub}/history"))["data"]!.AsArray();
        Assert.Contains(history, e => (string?)e!["action"] == "pause_collection" && (string?)e["actor"] == "dispute");
    }

    private static void AssertDunning(JsonNode? dunning, int attempt, int of, DateTimeOffset? next, string status, string decline)
    {
        Assert.NotNull(dunning);
        Assert.Equal(attempt, (int)dunning["attempt"]!);
        Assert.Equal(of, (int)dunning["of"]!);
        Assert.Equal(next, (DateTimeOffset?)dunning["next_attempt_at"]);
        Assert.Equal(status, (string?)dunning["status"]);
        Assert.Equal(decline, (string?)dunning["last_decline_code"]);
    }

    private static async Task<JsonNode> GetAsync(PaymentsHarness h, string path)
    {
        var response = await h.Admin.GetJsonAsync(path);
        Assert.True(response.Status == HttpStatusCode.OK, $"{path}: {response.Body.ToJsonString()}");
        return response.Body;
    }

    private static async Task<(string Clock, string Customer, string PaymentMethod)> ClockedCustomerAsync(PaymentsHarness h, string card)
    {
        var clock = await h.Admin.PostJsonAsync("/api/test-clocks", new { frozen_time = Start });
        Assert.Equal(HttpStatusCode.Created, clock.Status);
        var customer = await h.Admin.CreateCustomerAsync(new { name = "Dunning", email = "dunning@example.com", test_clock = clock.Id() });
        var attached = await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = card });
        Assert.True(attached.Status == HttpStatusCode.Created, attached.Body.ToJsonString());
        return (clock.Id(), customer, attached.Id());
    }

    private static async Task MakeDefaultAsync(PaymentsHarness h, string customer, string card)
    {
        var attached = await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = card });
        Assert.True(attached.Status == HttpStatusCode.Created, attached.Body.ToJsonString());
        var made = await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods/{attached.Id()}/default");
        Assert.True(made.Status == HttpStatusCode.OK, made.Body.ToJsonString());
    }

    private static async Task<string> SubscribeAsync(PaymentsHarness h, string customer, string price, int quantity = 1)
    {
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity } } });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        Assert.Equal("active", (string?)created.Body["status"]);
        return created.Id();
    }

    private static async Task AdvanceAsync(PaymentsHarness h, string clock, DateTimeOffset to)
    {
        var advanced = await h.Admin.PostJsonAsync($"/api/test-clocks/{clock}/advance", new { frozen_time = to });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body.ToJsonString());
    }
}

/// <summary>Hard declines with the scripted collector (the emulator refuses to attach lost or stolen test cards).</summary>
[Collection(AppCollection.Name)]
public sealed class HardDeclineDunningTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 9, 0, 0, TimeSpan.Zero);
    private readonly HttpClient admin;
    private readonly ScriptedCollector collector;

    public HardDeclineDunningTests(AppFixture fixture)
    {
        var (app, scripted) = ScriptedApp.For(fixture);
        admin = app.Admin();
        collector = scripted;
    }

    [Fact]
    public async Task A_hard_decline_skips_every_retry_and_applies_the_exhausted_outcome_at_once()
    {
        var clock = await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = Start });
        var customer = await admin.CreateCustomerAsync(new { name = "Hard decline", test_clock = clock.Id() });
        var price = await new BillingScenario(admin).PriceAsync(1500);
        var sub = await new BillingScenario(admin).SubscribeAsync(customer, price);
        await admin.PatchJsonAsync($"/api/customers/{customer}", new { metadata = new Dictionary<string, string> { ["test_card"] = "declined" } });

        var advanced = await admin.PostJsonAsync($"/api/test-clocks/{clock.Id()}/advance", new { frozen_time = Start.AddMonths(1).AddDays(10) });
        Assert.Equal(HttpStatusCode.OK, advanced.Status);

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body;
        Assert.Equal("unpaid", (string?)now["status"]);
        var invoiceId = (string)now["latest_invoice"]!;
        var dunning = now["dunning"]!;
        Assert.Equal("exhausted", (string?)dunning["status"]);
        Assert.Equal(0, (int)dunning["attempt"]!);
        Assert.Null(dunning["next_attempt_at"]);
        Assert.Equal(1, collector.CallsFor($"{invoiceId}:attempt:1"));
        Assert.Equal(0, collector.CallsFor($"{invoiceId}:attempt:2"));
        Assert.DoesNotContain((await admin.GetJsonAsync($"/api/customers/{customer}/schedule")).Body["data"]!.AsArray(), w => (string?)w!["kind"] == "payment_retry");
    }

    [Fact]
    public async Task An_invoice_paid_out_of_band_during_dunning_stops_the_retries()
    {
        var clock = await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = Start });
        var customer = await admin.CreateCustomerAsync(new { name = "Out of band", test_clock = clock.Id() });
        var price = await new BillingScenario(admin).PriceAsync(1500);
        var sub = await new BillingScenario(admin).SubscribeAsync(customer, price);
        await admin.PatchJsonAsync($"/api/customers/{customer}", new { metadata = new Dictionary<string, string> { ["test_card"] = "insufficient_funds" } });
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/test-clocks/{clock.Id()}/advance", new { frozen_time = Start.AddMonths(1).AddHours(1) })).Status);
        var invoiceId = (string)(await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body["latest_invoice"]!;

        var paid = await admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay", new { paid_out_of_band = true });
        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/test-clocks/{clock.Id()}/advance", new { frozen_time = Start.AddMonths(1).AddDays(10) })).Status);

        var now = (await admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body;
        Assert.Equal("active", (string?)now["status"]);
        Assert.Null(now["dunning"]);
        Assert.Equal(1, collector.CallsFor($"{invoiceId}:attempt:1"));
        Assert.Equal(0, collector.CallsFor($"{invoiceId}:attempt:2"));
    }
}
