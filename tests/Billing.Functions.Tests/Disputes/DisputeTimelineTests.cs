using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Stripe;

namespace Billing.Functions.Tests.Disputes;

[Collection(AppCollection.Name)]
public sealed class DisputeTimelineTests(AppFixture fixture)
{
    [Fact]
    public async Task A_disputed_payment_is_reminded_at_72_and_24_hours_then_won_with_submitted_evidence_and_funds_come_back()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (clock, start) = await h.TestClockAsync();
        var customer = await h.Admin.CreateCustomerAsync(new { name = "Chargeback", test_clock = clock });
        var payment = await h.DisputedPaymentAsync(customer, 4200);

        var dispute = await h.SingleDisputeAsync(customer);
        var due = Time(dispute["evidence_due_by"]);
        Assert.Equal("needs_response", (string?)dispute["status"]);
        Assert.Equal("pending", (string?)dispute["deadline_status"]);
        Assert.Equal(payment, (string?)dispute["payment"]);
        Assert.False((bool)dispute["unlinked"]!);
        Assert.Equal(4200, (long)dispute["amount"]!);
        Assert.Equal(4200 + 1500, (long)dispute["funds_withdrawn"]!);
        Assert.Equal(due.AddHours(-72), Time(dispute["next_reminder_at"]));
        Assert.InRange(due - start, TimeSpan.FromDays(6.9), TimeSpan.FromDays(7.1));
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.created"));
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.funds_withdrawn"));

        await h.AdvanceAsync(clock, due.AddHours(-72).AddMinutes(1));
        Assert.Equal(1, await h.EventCountAsync("dispute.evidence_reminder"));
        dispute = await h.GetDisputeAsync(dispute.Id());
        Assert.Equal(due.AddHours(-24), Time(dispute["next_reminder_at"]));

        await h.AdvanceAsync(clock, due.AddHours(-24).AddMinutes(1));
        Assert.Equal(2, await h.EventCountAsync("dispute.evidence_reminder"));
        dispute = await h.GetDisputeAsync(dispute.Id());
        Assert.Null(dispute["next_reminder_at"]);
        Assert.Equal(2, dispute["reminders_sent"]!.AsArray().Count);

        var staged = await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { uncategorized_text = "winning_evidence: the customer used the service", customer_name = "Chargeback" } });
        Assert.Equal(HttpStatusCode.OK, staged.Status);
        Assert.Equal("needs_response", (string?)staged.Body["status"]);
        var atStripe = h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!;
        Assert.Equal("Chargeback", (string?)atStripe["evidence"]!["customer_name"]);
        Assert.Equal("needs_response", (string?)atStripe["status"]);

        var submitted = await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/submit", null, "submit-1");
        Assert.Equal(HttpStatusCode.OK, submitted.Status);
        Assert.Equal("under_review", (string?)submitted.Body["status"]);
        Assert.Equal("submitted", (string?)submitted.Body["deadline_status"]);
        (await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/submit", null, "submit-2")).AssertProblem(HttpStatusCode.Conflict);
        (await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { customer_name = "Too late" } })).AssertProblem(HttpStatusCode.Conflict);

        h.Emulator.Settle();
        await h.DrainEventsAsync();
        dispute = await h.GetDisputeAsync(dispute.Id());
        Assert.Equal("won", (string?)dispute["status"]);
        Assert.Equal("won", (string?)dispute["outcome"]);
        Assert.Equal("closed", (string?)dispute["deadline_status"]);
        Assert.Equal(4200 + 1500, (long)dispute["funds_reinstated"]!);
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.closed"));
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.funds_reinstated"));

        await h.AdvanceAsync(clock, due.AddDays(1));
        Assert.Equal(0, await h.EventCountAsync("dispute.deadline_passed"));
        Assert.Equal(2, await h.EventCountAsync("dispute.evidence_reminder"));
    }

    [Fact]
    public async Task A_deadline_without_an_answer_passes_unanswered_and_staged_evidence_is_submitted_automatically_when_configured()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Disputes:AutoSubmitStagedEvidence"] = "true" });
        var (clock, _) = await h.TestClockAsync();
        var silent = await h.Admin.CreateCustomerAsync(new { name = "Silent", test_clock = clock });
        var prepared = await h.Admin.CreateCustomerAsync(new { name = "Prepared", test_clock = clock });
        await h.DisputedPaymentAsync(silent, 1000);
        await h.DisputedPaymentAsync(prepared, 2000);
        var unanswered = await h.SingleDisputeAsync(silent);
        var staged = await h.SingleDisputeAsync(prepared);
        Assert.Equal(HttpStatusCode.OK, (await h.Admin.PatchJsonAsync($"/api/disputes/{staged.Id()}/evidence", new { evidence = new { product_description = "losing_evidence: a monthly plan" } })).Status);

        var due = new[] { Time(unanswered["evidence_due_by"]), Time(staged["evidence_due_by"]) }.Max();
        await h.AdvanceAsync(clock, due.AddHours(1));
        await h.DrainEventsAsync();

        unanswered = await h.GetDisputeAsync(unanswered.Id());
        Assert.Equal("passed_unanswered", (string?)unanswered["deadline_status"]);
        Assert.Equal("needs_response", (string?)unanswered["status"]);
        Assert.Equal(0, (int)unanswered["submission_count"]!);
        Assert.Equal(1, await h.EventCountAsync("dispute.deadline_passed"));
        staged = await h.GetDisputeAsync(staged.Id());
        Assert.Equal("auto_submitted", (string?)staged["deadline_status"]);
        Assert.Equal("under_review", (string?)staged["status"]);
        Assert.Equal("under_review", (string?)h.Emulator.GetObject((string)staged["stripe_dispute_id"]!)!["status"]);

        h.Emulator.Settle();
        await h.DrainEventsAsync();
        staged = await h.GetDisputeAsync(staged.Id());
        Assert.Equal("lost", (string?)staged["status"]);
        Assert.Equal("closed", (string?)staged["deadline_status"]);
        Assert.NotNull(staged["submitted_at"]);
        var summary = (await h.Admin.GetJsonAsync("/api/disputes/summary")).Body;
        Assert.Equal(1, (int)summary["open"]!);
        Assert.Equal(1000, (long)summary["amount_at_risk"]!["usd"]!);
        Assert.Equal(0, (int)summary["won"]!);
        Assert.Equal(1, (int)summary["lost"]!);
        Assert.Equal(0.0, (double)summary["win_rate"]!);
        Assert.Empty(summary["next_deadlines"]!.AsArray());
    }

    [Fact]
    public async Task Accepting_requires_confirmation_closes_the_dispute_as_lost_and_cannot_be_undone()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_createDispute");
        await h.PayAsync(customer, 3100);
        await h.DrainEventsAsync();
        var dispute = await h.SingleDisputeAsync(customer);

        (await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/accept", new { })).AssertProblem(HttpStatusCode.BadRequest);
        (await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/accept", new { confirm = "yes" })).AssertProblem(HttpStatusCode.BadRequest);
        var accepted = await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/accept", new { confirm = "accept" });

        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal("lost", (string?)accepted.Body["status"]);
        Assert.True((bool)accepted.Body["accepted"]!);
        Assert.Equal("lost", (string?)h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!["status"]);
        (await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/accept", new { confirm = "accept" })).AssertProblem(HttpStatusCode.Conflict);
        (await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { customer_name = "Late" } })).AssertProblem(HttpStatusCode.Conflict);
        await h.DrainEventsAsync();
        Assert.Equal("lost", (string?)(await h.GetDisputeAsync(dispute.Id()))["status"]);
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.closed"));
    }

    private static DateTimeOffset Time(JsonNode? node) => DateTimeOffset.Parse((string)node!, CultureInfo.InvariantCulture);
}

/// <summary>Dispute steps on top of the payments harness.</summary>
internal static class DisputeSteps
{
    /// <summary>A test clock frozen at the emulator's current time (whole seconds).</summary>
    public static async Task<(string Clock, DateTimeOffset Start)> TestClockAsync(this PaymentsHarness h)
    {
        var now = h.Emulator.UtcNow;
        var start = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var clock = await h.Admin.PostJsonAsync("/api/test-clocks", new { frozen_time = start });
        Assert.Equal(HttpStatusCode.Created, clock.Status);
        return (clock.Id(), start);
    }

    public static async Task AdvanceAsync(this PaymentsHarness h, string clock, DateTimeOffset to)
    {
        var advanced = await h.Admin.PostJsonAsync($"/api/test-clocks/{clock}/advance", new { frozen_time = to });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body.ToJsonString());
    }

    /// <summary>Pays with <c>pm_card_createDispute</c> (the emulator then opens a dispute) and processes the webhooks; returns our payment id.</summary>
    public static async Task<string> DisputedPaymentAsync(this PaymentsHarness h, string customer, long amount)
    {
        var attached = await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = "pm_card_createDispute" });
        Assert.Equal(HttpStatusCode.Created, attached.Status);
        var paid = await h.PayAsync(customer, amount);
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        await h.DrainEventsAsync();
        return paid.Id();
    }

    public static async Task<JsonNode> SingleDisputeAsync(this PaymentsHarness h, string customer)
    {
        var list = await h.Admin.GetJsonAsync($"/api/disputes?customer={customer}");
        Assert.Equal(HttpStatusCode.OK, list.Status);
        return Assert.Single(list.Body["data"]!.AsArray())!;
    }

    public static async Task<JsonNode> GetDisputeAsync(this PaymentsHarness h, string id)
    {
        var got = await h.Admin.GetJsonAsync($"/api/disputes/{id}");
        Assert.Equal(HttpStatusCode.OK, got.Status);
        return got.Body;
    }

    public static async Task<int> EventCountAsync(this PaymentsHarness h, string type) =>
        (await h.Admin.GetJsonAsync($"/api/events?type={type}&limit=100")).Body["data"]!.AsArray().Count;

    public static string Id(this JsonNode node) => (string?)node["id"] ?? throw new InvalidOperationException("No id in " + node.ToJsonString());

    /// <summary>A Stripe client straight to the emulator, for payments made outside our API.</summary>
    public static StripeClient Outside(this PaymentsHarness h) =>
        new("sk_test_outside", httpClient: new SystemNetHttpClient(new HttpClient(h.Emulator.CreateHandler()), 0), apiBase: StripeEmulator.StripeEmulator.InProcessBaseUrl);
}
