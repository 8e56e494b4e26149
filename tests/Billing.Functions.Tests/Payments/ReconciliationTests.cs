using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Billing.StripeEmulator;

namespace Billing.Functions.Tests.Payments;

/// <summary>A lost answer and a lost webhook never leave money in limbo: an hour later reconciliation settles it.</summary>
[Collection(AppCollection.Name)]
public sealed class ReconciliationTests(AppFixture fixture)
{
    private Task<PaymentsHarness> IsolatedAsync() =>
        PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("rc") });

    [Fact]
    public async Task A_charge_whose_answer_and_webhook_were_lost_is_settled_by_the_hourly_check_without_a_second_charge()
    {
        await using var h = await IsolatedAsync();
        var (customer, _) = await h.CustomerWithCardAsync();
        h.Emulator.Webhooks.Pause();
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError, count: 4, phase: FaultPhase.AfterOperation);
        var lost = await h.PayAsync(customer, 4200, key: "limbo-1");
        lost.AssertProblem(HttpStatusCode.ServiceUnavailable);
        var payment = (string)(await h.Admin.GetJsonAsync($"/api/payments?customer={customer}")).Body["data"]![0]!["id"]!;

        Assert.Equal(0, await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddMinutes(30)));
        Assert.Equal("pending", (string?)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["status"]);

        Assert.True(await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddHours(1).AddMinutes(1)) >= 1);

        var settled = await h.Admin.GetJsonAsync($"/api/payments/{payment}");
        Assert.Equal("succeeded", (string?)settled.Body["status"]);
        Assert.Equal(4200, (long)settled.Body["amount_received"]!);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
        var events = await h.Admin.GetJsonAsync("/api/events?type=payment.succeeded");
        Assert.Single(events.Body["data"]!.AsArray(), e => (string?)e!["data"]!["id"] == payment);
        Assert.Equal(0, await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddHours(3)));
    }

    [Fact]
    public async Task A_refund_left_pending_by_an_outage_is_sent_once_by_the_hourly_check()
    {
        await using var h = await IsolatedAsync();
        var (customer, _) = await h.CustomerWithCardAsync();
        var paid = await h.PayAsync(customer, 3000, key: "refund-limbo-pay");
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        h.Emulator.Faults.FailNext("POST", "/v1/refunds", FaultKind.ServerError, count: 4, phase: FaultPhase.BeforeOperation);
        var refund = await h.Admin.PostJsonAsync($"/api/payments/{paid.Id()}/refunds", new { amount = 1000 }, "refund-limbo-1");
        refund.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(0, h.Emulator.Count("refund"));

        await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddHours(1).AddMinutes(1));

        Assert.Equal(1, h.Emulator.Count("refund"));
        var refunds = await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}/refunds");
        var only = Assert.Single(refunds.Body["data"]!.AsArray())!;
        Assert.Equal(("succeeded", 1000L), ((string?)only["status"], (long)only["amount"]!));
        Assert.Equal(1000, (long)(await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}")).Body["amount_refunded"]!);
    }

    [Fact]
    public async Task A_refund_that_reached_Stripe_but_lost_its_answer_is_settled_by_replaying_the_exact_request()
    {
        await using var h = await IsolatedAsync();
        var (customer, _) = await h.CustomerWithCardAsync();
        var paid = await h.PayAsync(customer, 3000, key: "refund-lost-pay");
        h.Emulator.Webhooks.Pause();
        h.Emulator.Faults.FailNext("POST", "/v1/refunds", FaultKind.ServerError, count: 4, phase: FaultPhase.AfterOperation);
        var refund = await h.Admin.PostJsonAsync($"/api/payments/{paid.Id()}/refunds", new { amount = 1000, metadata = new Dictionary<string, string> { ["ticket"] = "T-42" } }, "refund-lost-1");
        refund.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(1, h.Emulator.Count("refund"));

        await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddHours(1).AddMinutes(1));

        Assert.Equal(1, h.Emulator.Count("refund"));
        var only = Assert.Single((await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}/refunds")).Body["data"]!.AsArray())!;
        Assert.Equal(("succeeded", 1000L), ((string?)only["status"], (long)only["amount"]!));
        Assert.Equal(1000, (long)(await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}")).Body["amount_refunded"]!);
    }
}
