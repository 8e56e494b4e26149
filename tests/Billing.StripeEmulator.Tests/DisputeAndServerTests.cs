using Microsoft.Extensions.Time.Testing;
using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class DisputeAndServerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task CreateDispute_card_opens_a_dispute_and_winning_evidence_wins_it()
    {
        var clock = new FakeTimeProvider(Start);
        await using var h = new Harness(time: clock);
        var captured = h.CaptureWebhooks();
        var pi = await h.ChargeAsync(null, "pm_card_createDispute", 4200);
        Assert.Equal("succeeded", pi.Status);
        Assert.True((await h.Charges.GetAsync(pi.LatestChargeId)).Disputed);

        var dispute = Assert.Single((await h.Disputes.ListAsync(new DisputeListOptions { PaymentIntent = pi.Id })).Data);
        Assert.StartsWith("du_", dispute.Id, StringComparison.Ordinal);
        Assert.Equal("needs_response", dispute.Status);
        Assert.Equal(4200, dispute.Amount);
        Assert.Equal(pi.LatestChargeId, dispute.ChargeId);
        Assert.Equal(Start.AddDays(7).UtcDateTime, dispute.EvidenceDetails.DueBy);
        Assert.False(dispute.EvidenceDetails.HasEvidence);
        var withdrawal = Assert.Single(dispute.BalanceTransactions);
        Assert.Equal(-4200, withdrawal.Amount);

        var refund = await Assert.ThrowsAsync<StripeException>(() => h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id }));
        Assert.Equal("charge_disputed", refund.StripeError.Code);

        var staged = await h.Disputes.UpdateAsync(dispute.Id, new DisputeUpdateOptions
        {
            Evidence = new DisputeEvidenceOptions { CustomerEmailAddress = "a@example.com" },
            Submit = false,
        });
        Assert.Equal("needs_response", staged.Status);
        Assert.True(staged.EvidenceDetails.HasEvidence);
        Assert.Equal(0, staged.EvidenceDetails.SubmissionCount);

        var submitted = await h.Disputes.UpdateAsync(dispute.Id, new DisputeUpdateOptions
        {
            Evidence = new DisputeEvidenceOptions { UncategorizedText = "Customer used the service: winning_evidence" },
            Submit = true,
        });
        Assert.Equal("under_review", submitted.Status);
        Assert.Equal(1, submitted.EvidenceDetails.SubmissionCount);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("under_review", (await h.Disputes.GetAsync(dispute.Id)).Status);
        clock.Advance(TimeSpan.FromSeconds(3));
        var won = await h.Disputes.GetAsync(dispute.Id);
        Assert.Equal("won", won.Status);
        Assert.Equal(2, won.BalanceTransactions.Count);

        await h.Emulator.Webhooks.WaitForDrainAsync();
        var types = captured.Verified().Select(e => e.Type).ToList();
        Assert.Contains("charge.dispute.created", types);
        Assert.Contains("charge.dispute.funds_withdrawn", types);
        Assert.Contains("charge.dispute.updated", types);
        Assert.Contains("charge.dispute.closed", types);
        Assert.Contains("charge.dispute.funds_reinstated", types);
        var closed = captured.Verified().Single(e => e.Type == "charge.dispute.closed");
        Assert.Equal("won", ((Dispute)closed.Data.Object).Status);
    }

    [Fact]
    public async Task Losing_evidence_loses_after_AdvanceTime_and_close_accepts()
    {
        await using var h = new Harness();
        var a = await h.ChargeAsync(null, "pm_card_createDispute");
        var b = await h.ChargeAsync(null, "pm_card_createDispute");
        var da = Assert.Single((await h.Disputes.ListAsync(new DisputeListOptions { PaymentIntent = a.Id })).Data);
        var db = Assert.Single((await h.Disputes.ListAsync(new DisputeListOptions { Charge = b.LatestChargeId })).Data);

        await h.Disputes.UpdateAsync(da.Id, new DisputeUpdateOptions
        {
            Evidence = new DisputeEvidenceOptions { ProductDescription = "losing_evidence" },
        });
        h.Emulator.AdvanceTime(TimeSpan.FromMinutes(1));
        Assert.Equal("lost", (await h.Disputes.GetAsync(da.Id)).Status);

        var closed = await h.Disputes.CloseAsync(db.Id);
        Assert.Equal("lost", closed.Status);
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.Disputes.CloseAsync(db.Id));
        Assert.Equal(400, (int)ex.HttpStatusCode);
        Assert.Equal(2, h.Emulator.EventTypes.Count(t => t == "charge.dispute.closed"));
    }

    [Fact]
    public async Task Settle_closes_submitted_disputes_immediately()
    {
        await using var h = new Harness();
        var pi = await h.ChargeAsync(null, "pm_card_createDispute");
        var d = Assert.Single((await h.Disputes.ListAsync(new DisputeListOptions { PaymentIntent = pi.Id })).Data);
        await h.Disputes.UpdateAsync(d.Id, new DisputeUpdateOptions { Evidence = new DisputeEvidenceOptions { UncategorizedText = "winning_evidence" } });
        h.Emulator.Settle();
        Assert.Equal("won", (await h.Disputes.GetAsync(d.Id)).Status);
    }

    [Fact]
    public async Task Port_mode_serves_the_same_api()
    {
        await using var server = await StripeEmulatorServer.StartAsync(port: 0);
        Assert.Equal("127.0.0.1", server.BaseUrl.Host);
        using var http = new HttpClient();
        var client = new StripeClient(Harness.ApiKey, httpClient: new SystemNetHttpClient(http, 0), apiBase: server.BaseUrl.ToString().TrimEnd('/'));
        var customer = await new CustomerService(client).CreateAsync(new CustomerCreateOptions
        {
            Email = "port@example.com",
            Metadata = new Dictionary<string, string> { ["k"] = "v w&x" },
        });
        Assert.Equal("v w&x", customer.Metadata["k"]);
        var pm = await new PaymentMethodService(client).AttachAsync("pm_card_visa", new PaymentMethodAttachOptions { Customer = customer.Id });
        var pi = await new PaymentIntentService(client).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 999,
            Currency = "usd",
            Customer = customer.Id,
            PaymentMethod = pm.Id,
            Confirm = true,
            OffSession = true,
        });
        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(1, server.Emulator.Count("payment_intent"));

        var ex = await Assert.ThrowsAsync<StripeException>(() => new PaymentIntentService(client).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 999,
            Currency = "usd",
            PaymentMethod = "pm_card_chargeDeclinedInsufficientFunds",
            Confirm = true,
        }));
        Assert.Equal(402, (int)ex.HttpStatusCode);
        Assert.Equal("insufficient_funds", ex.StripeError.DeclineCode);

        server.Emulator.Faults.FailNext("GET", "/v1/payment_intents", FaultKind.ServerError);
        var fault = await Assert.ThrowsAsync<StripeException>(() => new PaymentIntentService(client).GetAsync(pi.Id));
        Assert.Equal(500, (int)fault.HttpStatusCode);
    }

    [Fact]
    public async Task Port_mode_timeout_holds_until_the_client_gives_up()
    {
        await using var server = await StripeEmulatorServer.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var client = new StripeClient(Harness.ApiKey, httpClient: new SystemNetHttpClient(http, 0), apiBase: server.BaseUrl.ToString().TrimEnd('/'));
        server.Emulator.Faults.FailNext("POST", "/v1/customers", FaultKind.Timeout);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new CustomerService(client).CreateAsync(new CustomerCreateOptions()));
        Assert.Equal(0, server.Emulator.Count("customer"));
    }
}
