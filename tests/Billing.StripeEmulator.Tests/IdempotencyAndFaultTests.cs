using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class IdempotencyAndFaultTests
{
    [Fact]
    public async Task Same_idempotency_key_replays_the_first_response()
    {
        await using var h = new Harness();
        var options = new RequestOptions { IdempotencyKey = "charge-inv-1" };
        var first = await h.ChargeAsync(null, "pm_card_visa", 2000, requestOptions: options);
        var second = await h.ChargeAsync(null, "pm_card_visa", 2000, requestOptions: options);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
        var replay = h.Emulator.Requests[^1];
        Assert.True(replay.IdempotentReplayed);
        Assert.Equal("true", second.StripeResponse.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public async Task Declines_are_replayed_too()
    {
        await using var h = new Harness();
        var options = new RequestOptions { IdempotencyKey = "decline-1" };
        var a = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, "pm_card_chargeDeclined", requestOptions: options));
        var b = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, "pm_card_chargeDeclined", requestOptions: options));
        Assert.Equal(a.StripeError.PaymentIntent.Id, b.StripeError.PaymentIntent.Id);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task Same_key_with_different_parameters_is_an_idempotency_error()
    {
        await using var h = new Harness();
        var options = new RequestOptions { IdempotencyKey = "charge-inv-2" };
        await h.ChargeAsync(null, "pm_card_visa", 2000, requestOptions: options);
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, "pm_card_visa", 2500, requestOptions: options));
        Assert.Equal(400, (int)ex.HttpStatusCode);
        Assert.Equal("idempotency_error", ex.StripeError.Type);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task Keys_are_scoped_per_api_key()
    {
        await using var h = new Harness();
        using var http = new HttpClient(h.Emulator.CreateHandler());
        var other = new StripeClient("sk_test_other_account", httpClient: new SystemNetHttpClient(http, 0), apiBase: StripeEmulator.InProcessBaseUrl);
        var options = new RequestOptions { IdempotencyKey = "shared-key" };
        var a = await h.Customers.CreateAsync(new CustomerCreateOptions { Email = "a@x.test" }, options);
        var b = await new CustomerService(other).CreateAsync(new CustomerCreateOptions { Email = "b@x.test" }, options);
        Assert.NotEqual(a.Id, b.Id);
    }

    [Fact]
    public async Task Server_error_before_the_operation_changes_nothing()
    {
        await using var h = new Harness();
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError);
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, "pm_card_visa"));
        Assert.Equal(500, (int)ex.HttpStatusCode);
        Assert.Equal("api_error", ex.StripeError.Type);
        Assert.Equal(0, h.Emulator.Count("payment_intent"));
        Assert.Equal("succeeded", (await h.ChargeAsync(null, "pm_card_visa")).Status);
    }

    [Fact]
    public async Task Server_error_after_the_operation_is_recovered_by_retrying_with_the_same_key()
    {
        await using var h = new Harness();
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError, phase: FaultPhase.AfterOperation);
        var options = new RequestOptions { IdempotencyKey = "lost-response-1" };
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, "pm_card_visa", requestOptions: options));
        Assert.Equal(500, (int)ex.HttpStatusCode);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));

        var retried = await h.ChargeAsync(null, "pm_card_visa", requestOptions: options);
        Assert.Equal("succeeded", retried.Status);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
    }

    [Fact]
    public async Task Stripe_net_automatic_retries_use_its_idempotency_key_so_a_lost_response_charges_once()
    {
        await using var h = new Harness(maxNetworkRetries: 2);
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.ServerError, phase: FaultPhase.AfterOperation);
        var pi = await h.ChargeAsync(null, "pm_card_visa");
        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        var posts = h.Emulator.Requests.Where(r => r.Method == "POST" && r.Path == "/v1/payment_intents").ToList();
        Assert.Equal(2, posts.Count);
        Assert.Equal(posts[0].IdempotencyKey, posts[1].IdempotencyKey);
        Assert.True(posts[1].IdempotentReplayed);
    }

    [Fact]
    public async Task Rate_limit_is_429_with_rate_limit_code()
    {
        await using var h = new Harness(maxNetworkRetries: 2);
        var rule = h.Emulator.Faults.FailNext("POST", "/v1/customers", FaultKind.RateLimit);
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.Customers.CreateAsync(new CustomerCreateOptions()));
        Assert.Equal(429, (int)ex.HttpStatusCode);
        Assert.Equal("rate_limit", ex.StripeError.Code);
        Assert.Equal(1, rule.HitCount);
        Assert.Equal(0, h.Emulator.Count("customer"));
    }

    [Fact]
    public async Task Timeout_after_the_operation_leaves_the_charge_made_and_a_retry_replays_it()
    {
        await using var h = new Harness(httpTimeout: TimeSpan.FromSeconds(1));
        h.Emulator.Faults.FailNext("POST", "/v1/payment_intents", FaultKind.Timeout, phase: FaultPhase.AfterOperation);
        var options = new RequestOptions { IdempotencyKey = "timeout-1" };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.ChargeAsync(null, "pm_card_visa", requestOptions: options));
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        var retried = await h.ChargeAsync(null, "pm_card_visa", requestOptions: options);
        Assert.Equal("succeeded", retried.Status);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task Latency_and_probability_rules()
    {
        await using var h = new Harness();
        h.Emulator.Faults.AddLatency("GET", "/v1/customers", TimeSpan.FromMilliseconds(150));
        var c = await h.Customers.CreateAsync(new CustomerCreateOptions());
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await h.Customers.GetAsync(c.Id);
        Assert.True(sw.ElapsedMilliseconds >= 140, $"took {sw.ElapsedMilliseconds} ms");

        h.Emulator.Faults.Clear();
        h.Emulator.Faults.FailRandomly("POST", "/v1/customers", 0.5);
        var failures = 0;
        for (var i = 0; i < 40; i++)
        {
            try
            {
                await h.Customers.CreateAsync(new CustomerCreateOptions());
            }
            catch (StripeException)
            {
                failures++;
            }
        }

        Assert.InRange(failures, 5, 35);
    }
}
