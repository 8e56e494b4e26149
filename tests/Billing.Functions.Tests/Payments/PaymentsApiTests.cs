using System.Net;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class PaymentsApiTests(AppFixture fixture)
{
    [Fact]
    public async Task A_customer_with_a_saved_card_is_charged_once_and_the_payment_mirrors_Stripe()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, card) = await h.CustomerWithCardAsync();

        var paid = await h.PayAsync(customer, 2500);

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.StartsWith("pay_", paid.Id(), StringComparison.Ordinal);
        Assert.Equal("succeeded", (string?)paid.Body["status"]);
        Assert.Equal(2500, (long)paid.Body["amount"]!);
        Assert.Equal(2500, (long)paid.Body["amount_received"]!);
        Assert.Equal("usd", (string?)paid.Body["currency"]);
        Assert.Equal(card, (string?)paid.Body["payment_method"]);
        Assert.Equal("visa", (string?)paid.Body["card_brand"]);
        Assert.Equal("4242", (string?)paid.Body["card_last4"]);
        Assert.StartsWith("pi_", (string?)paid.Body["stripe_payment_intent_id"], StringComparison.Ordinal);
        Assert.StartsWith("ch_", (string?)paid.Body["stripe_charge_id"], StringComparison.Ordinal);
        Assert.Null(paid.Body["client_secret"]);
        var intent = h.Emulator.GetObject((string)paid.Body["stripe_payment_intent_id"]!)!;
        Assert.Equal(paid.Id(), (string?)intent["metadata"]!["billing_payment_id"]);
        Assert.Equal(customer, (string?)intent["metadata"]!["billing_customer_id"]);

        var fetched = await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}");
        Assert.Equal("succeeded", (string?)fetched.Body["status"]);
        await h.DrainEventsAsync();
        var listed = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}");
        Assert.Equal(paid.Id(), (string?)listed.Body["data"]![0]!["id"]);
        Assert.Equal("succeeded", (string?)listed.Body["data"]![0]!["status"]);
    }
}

[Collection(AppCollection.Name)]
public sealed class PaymentOutcomesTests(AppFixture fixture)
{
    [Fact]
    public async Task A_payment_without_an_Idempotency_Key_is_refused_before_anything_happens()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();

        var refused = await h.Admin.PostJsonAsync("/api/payments", new { customer, amount = 1000, currency = "usd" });

        refused.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal("idempotency_key_required", (string?)refused.Body["code"]);
        Assert.Equal(0, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task The_same_request_sent_five_times_makes_one_PaymentIntent()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();

        var answers = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var paid = await h.PayAsync(customer, 1500, key: "order-42");
            Assert.Equal(HttpStatusCode.Created, paid.Status);
            answers.Add(paid.Id());
        }

        Assert.Single(answers.Distinct());
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal(1, h.Emulator.Count("charge"));
    }

    [Theory]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "retry_later")]
    [InlineData("pm_card_chargeDeclinedProcessingError", "processing_error", "retry_later")]
    [InlineData("pm_card_chargeCustomerFail", "generic_decline", "retry_later")]
    [InlineData("pm_card_chargeDeclinedExpiredCard", "expired_card", "needs_customer")]
    [InlineData("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "needs_customer")]
    [InlineData("pm_card_chargeDeclinedLostCard", "lost_card", "never_retry")]
    [InlineData("pm_card_chargeDeclinedStolenCard", "stolen_card", "never_retry")]
    [InlineData("pm_card_chargeDeclinedFraudulent", "fraudulent", "never_retry")]
    public async Task A_declined_card_is_a_402_with_its_decline_code_and_class_and_the_attempt_is_recorded(string token, string declineCode, string declineClass)
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();

        var declined = await h.PayAsync(customer, 2000, paymentMethod: token);

        declined.AssertProblem(HttpStatusCode.PaymentRequired);
        Assert.Equal(declineCode, (string?)declined.Body["decline_code"]);
        Assert.Equal(declineClass, (string?)declined.Body["decline_class"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)declined.Body["detail"]));
        var paymentId = (string)declined.Body["payment"]!;
        var recorded = await h.Admin.GetJsonAsync($"/api/payments/{paymentId}");
        Assert.Equal("requires_payment_method", (string?)recorded.Body["status"]);
        Assert.Equal(declineCode, (string?)recorded.Body["decline_code"]);
        Assert.Equal(declineClass, (string?)recorded.Body["decline_class"]);
        Assert.NotNull((string?)recorded.Body["failure_message"]);
        Assert.Equal(0, (long)recorded.Body["amount_received"]!);
    }

    [Fact]
    public async Task A_card_needing_3D_Secure_returns_the_client_secret_and_next_action_then_succeeds_once_authenticated()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");

        var paid = await h.PayAsync(customer, 4200);

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal("requires_action", (string?)paid.Body["status"]);
        Assert.Contains("_secret_", (string?)paid.Body["client_secret"], StringComparison.Ordinal);
        Assert.Equal("use_stripe_sdk", (string?)paid.Body["next_action"]!["type"]);

        h.Emulator.CompleteAuthentication((string)paid.Body["stripe_payment_intent_id"]!);
        await h.DrainEventsAsync();

        var settled = await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}");
        Assert.Equal("succeeded", (string?)settled.Body["status"]);
        Assert.Equal(4200, (long)settled.Body["amount_received"]!);
        Assert.Null(settled.Body["client_secret"]);
    }

    [Fact]
    public async Task Off_session_a_card_needing_authentication_is_a_decline_that_needs_the_customer()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");

        var declined = await h.PayAsync(customer, 4200, offSession: true);

        declined.AssertProblem(HttpStatusCode.PaymentRequired);
        Assert.Equal("authentication_required", (string?)declined.Body["decline_code"]);
        Assert.Equal("needs_customer", (string?)declined.Body["decline_class"]);
    }

    [Theory]
    [InlineData(0L, "usd", "amount")]
    [InlineData(-500L, "usd", "amount")]
    [InlineData(49L, "usd", "amount")]
    [InlineData(10_000_000_000L, "usd", "amount")]
    [InlineData(1005L, "kwd", "amount")]
    [InlineData(49L, "jpy", "amount")]
    [InlineData(1000L, "xyz", "currency")]
    [InlineData(1000L, "", "currency")]
    public async Task Amounts_Stripe_cannot_charge_are_400_with_the_field_at_fault(long amount, string currency, string field)
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();

        var refused = await h.PayAsync(customer, amount, currency);

        var errors = refused.AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey(field), refused.Body.ToJsonString());
        Assert.Equal(0, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task Three_decimal_currencies_take_multiples_of_ten_and_zero_decimal_ones_whole_units()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();

        var kwd = await h.PayAsync(customer, 1250, "kwd");
        var jpy = await h.PayAsync(customer, 500, "jpy");

        Assert.Equal(HttpStatusCode.Created, kwd.Status);
        Assert.Equal(1250, (long)h.Emulator.GetObject((string)kwd.Body["stripe_payment_intent_id"]!)!["amount"]!);
        Assert.Equal(HttpStatusCode.Created, jpy.Status);
        Assert.Equal(500, (long)h.Emulator.GetObject((string)jpy.Body["stripe_payment_intent_id"]!)!["amount"]!);
    }

    [Fact]
    public async Task A_deleted_customer_cannot_be_charged()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        Assert.Equal(HttpStatusCode.OK, (await h.Admin.DeleteJsonAsync($"/api/customers/{customer}")).Status);

        var refused = await h.PayAsync(customer, 2000);

        refused.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("customer_deleted", (string?)refused.Body["code"]);
        Assert.Equal(0, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_customer_token_sees_and_lists_only_its_own_payments()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (alice, _) = await h.CustomerWithCardAsync();
        var (bob, _) = await h.CustomerWithCardAsync();
        var alicePayment = (await h.PayAsync(alice, 1000)).Id();
        var bobPayment = (await h.PayAsync(bob, 3000)).Id();
        var token = (string)(await h.Admin.PostJsonAsync($"/api/customers/{alice}/sessions"))!.Body["token"]!;
        using var asAlice = h.App.WithBearer(token);

        Assert.Equal(HttpStatusCode.OK, (await asAlice.GetJsonAsync($"/api/payments/{alicePayment}")).Status);
        (await asAlice.GetJsonAsync($"/api/payments/{bobPayment}")).AssertProblem(HttpStatusCode.NotFound);
        (await asAlice.GetJsonAsync($"/api/payments/{bobPayment}/refunds")).AssertProblem(HttpStatusCode.NotFound);
        (await asAlice.GetJsonAsync($"/api/payments?customer={bob}")).AssertProblem(HttpStatusCode.NotFound);
        (await h.PayAsync(bob, 1000, client: asAlice)).AssertProblem(HttpStatusCode.NotFound);
        var listed = await asAlice.GetJsonAsync("/api/payments");
        Assert.Equal([alicePayment], listed.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        (await asAlice.PostJsonAsync($"/api/payments/{alicePayment}/refunds", new { amount = 100 }, "r1")).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_payment_history_filters_by_status_and_creation_time_newest_first()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var first = (await h.PayAsync(customer, 1000)).Id();
        var declined = (string)(await h.PayAsync(customer, 1000, paymentMethod: "pm_card_chargeDeclined")).Body["payment"]!;
        var last = (await h.PayAsync(customer, 3000)).Id();

        var all = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}");
        Assert.Equal([last, declined, first], all.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        var succeeded = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}&status=succeeded&limit=1");
        Assert.Equal([last], succeeded.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        Assert.True((bool)succeeded.Body["has_more"]!);
        var everyone = await h.Admin.GetJsonAsync("/api/payments?status=requires_payment_method");
        Assert.Equal([declined], everyone.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        var future = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        Assert.Empty((await h.Admin.GetJsonAsync($"/api/payments?created[gte]={future}")).Body["data"]!.AsArray());
        Assert.Equal(3, (await h.Admin.GetJsonAsync($"/api/payments?created[lt]={future}")).Body["data"]!.AsArray().Count);
        (await h.Admin.GetJsonAsync("/api/payments?status=paid")).AssertProblem(HttpStatusCode.BadRequest);
    }
}
