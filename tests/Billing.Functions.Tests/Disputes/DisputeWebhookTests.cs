using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Stripe;

namespace Billing.Functions.Tests.Disputes;

[Collection(AppCollection.Name)]
public sealed class DisputeWebhookTests(AppFixture fixture)
{
    [Fact]
    public async Task Duplicated_and_shuffled_dispute_webhooks_create_one_dispute_and_end_in_Stripes_final_state()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_createDispute");
        h.Emulator.Webhooks.Pause();
        await h.PayAsync(customer, 5000);
        var stripeDispute = await OpenedDisputeAsync(h);
        await new DisputeService(h.Outside()).UpdateAsync(stripeDispute, new DisputeUpdateOptions { Evidence = new DisputeEvidenceOptions { UncategorizedText = "winning_evidence" } });
        h.Emulator.Settle();
        h.Emulator.Webhooks.ShuffleBatches = true;
        for (var i = 0; i < 6; i++)
        {
            h.Emulator.Webhooks.DuplicateNext();
        }

        h.Emulator.Webhooks.Resume();
        await h.DrainEventsAsync();

        var dispute = await h.SingleDisputeAsync(customer);
        AssertWonState(dispute, 5000);
        foreach (var type in new[] { "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed", "charge.dispute.funds_reinstated" })
        {
            Assert.Equal(1, await h.EventCountAsync(type));
        }

        var processed = (await h.Admin.GetJsonAsync("/api/stripe-events?type=charge.dispute.closed")).Body["data"]!.AsArray();
        Assert.Equal(dispute.Id(), (string?)Assert.Single(processed)!["note"]);
    }

    [Fact]
    public async Task Dispute_webhooks_replayed_newest_first_and_twice_converge_on_the_same_state()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_createDispute");
        h.Emulator.Webhooks.Pause();
        await h.PayAsync(customer, 2500);
        var stripeDispute = await OpenedDisputeAsync(h);
        await new DisputeService(h.Outside()).UpdateAsync(stripeDispute, new DisputeUpdateOptions { Evidence = new DisputeEvidenceOptions { UncategorizedText = "winning_evidence" } });
        h.Emulator.Settle();

        var events = h.Emulator.GetEvents().Where(e => ((string?)e["type"])!.StartsWith("charge.dispute.", StringComparison.Ordinal)).Reverse().ToList();
        Assert.Equal(5, events.Count);
        foreach (var e in events.Concat(events))
        {
            var payload = e.ToJsonString();
            Assert.Equal(HttpStatusCode.OK, (await h.PostWebhookAsync(payload, PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).Status);
        }

        await h.DrainEventsAsync();
        AssertWonState(await h.SingleDisputeAsync(customer), 2500);
        Assert.Equal(1, await h.EventCountAsync("charge.dispute.closed"));
    }

    [Fact]
    public async Task A_dispute_on_a_charge_made_outside_the_API_is_kept_and_flagged_unlinked()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var outside = await new PaymentIntentService(h.Outside()).CreateAsync(new PaymentIntentCreateOptions { Amount = 990, Currency = "eur", PaymentMethod = "pm_card_visa", Confirm = true });
        var stripeDispute = h.Emulator.CreateDispute(outside.LatestChargeId, "product_not_received");

        await h.DrainEventsAsync();

        var list = (await h.Admin.GetJsonAsync("/api/disputes")).Body["data"]!.AsArray();
        var dispute = Assert.Single(list)!;
        Assert.True((bool)dispute["unlinked"]!);
        Assert.Null(dispute["customer"]);
        Assert.Null(dispute["payment"]);
        Assert.Equal(stripeDispute, (string?)dispute["stripe_dispute_id"]);
        Assert.Equal("product_not_received", (string?)dispute["reason"]);
        Assert.Equal(990, (long)dispute["amount"]!);
        Assert.Equal("eur", (string?)dispute["currency"]);
        Assert.Empty(dispute["policy_actions"]!.AsArray());
        Assert.NotNull(dispute["next_reminder_at"]);
        var created = (await h.Admin.GetJsonAsync("/api/events?type=charge.dispute.created")).Body["data"]!.AsArray();
        Assert.Single(created);

        // Staging text works; our invoice PDFs cannot be attached without a customer.
        Assert.Equal(HttpStatusCode.OK, (await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { customer_email_address = "x@example.com" } })).Status);
        var errors = (await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { receipt = "invoice:in_0001" } })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("evidence.receipt", errors.Select(e => e.Key));
    }

    [Fact]
    public async Task A_dispute_on_a_one_off_payment_applies_the_policy_once_without_a_subscription_to_change()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Disputes:SubscriptionPolicy"] = "pause_collection" });
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_createDispute");
        await h.PayAsync(customer, 1200);
        await h.DrainEventsAsync();

        var dispute = await h.SingleDisputeAsync(customer);
        Assert.Equal(["dunning_stopped"], dispute["policy_actions"]!.AsArray().Select(a => (string?)a));
    }

    private static void AssertWonState(JsonNode dispute, long amount)
    {
        Assert.Equal("won", (string?)dispute["status"]);
        Assert.Equal("closed", (string?)dispute["deadline_status"]);
        Assert.Equal(1, (int)dispute["submission_count"]!);
        Assert.Equal(amount + 1500, (long)dispute["funds_withdrawn"]!);
        Assert.Equal(amount + 1500, (long)dispute["funds_reinstated"]!);
        Assert.Null(dispute["next_reminder_at"]);
        Assert.False((bool)dispute["unlinked"]!);
    }

    private static async Task<string> OpenedDisputeAsync(PaymentsHarness h)
    {
        var list = await new DisputeService(h.Outside()).ListAsync(new DisputeListOptions { Limit = 1 });
        return Assert.Single(list.Data).Id;
    }
}
