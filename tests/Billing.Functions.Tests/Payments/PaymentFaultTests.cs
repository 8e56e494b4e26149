using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Billing.StripeEmulator;

namespace Billing.Functions.Tests.Payments;

/// <summary>Stripe failing around the charge: never a second charge, and either success or a clean 503 the client can retry.</summary>
[Collection(AppCollection.Name)]
public sealed class PaymentFaultTests(AppFixture fixture)
{
    [Fact]
    public async Task Stripe_charges_then_keeps_failing_so_the_client_gets_503_and_its_retry_completes_the_same_payment()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        h.Emulator.Webhooks.Pause();
        // The PaymentIntent is created and charged, but every answer (first call and all retries) is lost.
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError, count: 4, phase: FaultPhase.AfterOperation);

        var first = await h.PayAsync(customer, 2500, key: "crash-1");

        first.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("payment_processor_unavailable", (string?)first.Body["code"]);
        Assert.True(first.Response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.DoesNotContain("req_", first.Body.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        var pending = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}");
        Assert.Equal("pending", (string?)pending.Body["data"]![0]!["status"]);

        var retried = await h.PayAsync(customer, 2500, key: "crash-1");

        Assert.Equal(HttpStatusCode.Created, retried.Status);
        Assert.Equal((string?)pending.Body["data"]![0]!["id"], retried.Id());
        Assert.Equal("succeeded", (string?)retried.Body["status"]);
        Assert.Equal(2500, (long)retried.Body["amount_received"]!);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
        Assert.All(h.Emulator.Requests.Where(r => r.Method == "POST" && r.Path == "/v1/payment_intents"),
            r => Assert.Equal(retried.Id() + ":create", r.IdempotencyKey));

        h.Emulator.Webhooks.Resume();
        await h.DrainEventsAsync();
        Assert.Equal("succeeded", (string?)(await h.Admin.GetJsonAsync($"/api/payments/{retried.Id()}")).Body["status"]);
    }

    [Fact]
    public async Task A_webhook_completes_a_payment_whose_answer_was_lost_before_the_client_retries()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError, count: 4, phase: FaultPhase.AfterOperation);

        var first = await h.PayAsync(customer, 2500, key: "crash-2");
        first.AssertProblem(HttpStatusCode.ServiceUnavailable);
        await h.DrainEventsAsync();

        var listed = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}");
        Assert.Equal("succeeded", (string?)listed.Body["data"]![0]!["status"]);
        var retried = await h.PayAsync(customer, 2500, key: "crash-2");
        Assert.Equal(HttpStatusCode.Created, retried.Status);
        Assert.Equal("succeeded", (string?)retried.Body["status"]);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Theory]
    [InlineData(FaultKind.ServerError, FaultPhase.BeforeOperation)]
    [InlineData(FaultKind.RateLimit, FaultPhase.BeforeOperation)]
    [InlineData(FaultKind.ServerError, FaultPhase.AfterOperation)]
    [InlineData(FaultKind.Timeout, FaultPhase.AfterOperation)]
    public async Task Transient_Stripe_failures_are_retried_with_the_same_key_into_one_charge(FaultKind kind, FaultPhase phase)
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var rule = h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", kind, count: 2, phase: phase);

        var paid = await h.PayAsync(customer, 2000);

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal("succeeded", (string?)paid.Body["status"]);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
        Assert.Equal(2, rule.HitCount);
        var attempts = h.Emulator.Requests.Where(r => r.Method == "POST" && r.Path == "/v1/payment_intents").ToList();
        Assert.Equal(paid.Id() + ":create", Assert.Single(attempts.Select(r => r.IdempotencyKey).Distinct()));
    }

    [Fact]
    public async Task Stripe_rate_limiting_us_beyond_the_backoff_is_a_503_with_Retry_After_and_no_charge()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.RateLimit, count: 10);

        var refused = await h.PayAsync(customer, 2000, key: "busy-1");

        refused.AssertProblem(HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(refused.Response.Headers.RetryAfter);
        Assert.Equal(0, h.Emulator.Count("payment_intent"));
        h.Emulator.Faults.Clear();
        var retried = await h.PayAsync(customer, 2000, key: "busy-1");
        Assert.Equal(HttpStatusCode.Created, retried.Status);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_different_request_under_a_used_key_is_refused()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        Assert.Equal(HttpStatusCode.Created, (await h.PayAsync(customer, 2000, key: "same")).Status);

        var other = await h.PayAsync(customer, 3000, key: "same");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.Status);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }
}
