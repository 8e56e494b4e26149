using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class PaymentTests
{
    [Fact]
    public async Task OffSession_payment_with_attached_visa_succeeds()
    {
        await using var h = new Harness();
        var customer = await h.CustomerWithCardAsync();
        var pmId = customer.InvoiceSettings.DefaultPaymentMethodId;
        Assert.StartsWith("pm_", pmId, StringComparison.Ordinal);
        Assert.NotEqual("pm_card_visa", pmId);

        var pm = await h.PaymentMethods.GetAsync(pmId);
        Assert.Equal(customer.Id, pm.CustomerId);
        Assert.Equal("visa", pm.Card.Brand);
        Assert.Equal("4242", pm.Card.Last4);
        Assert.InRange(pm.Card.ExpMonth, 1, 12);
        Assert.True(pm.Card.ExpYear > 2025);

        var pi = await h.ChargeAsync(customer.Id, pmId, 2000);
        Assert.StartsWith("pi_", pi.Id, StringComparison.Ordinal);
        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(2000, pi.Amount);
        Assert.Equal(2000, pi.AmountReceived);
        Assert.Equal("usd", pi.Currency);
        Assert.Equal("inv_1", pi.Metadata["invoice"]);
        Assert.StartsWith("ch_", pi.LatestChargeId, StringComparison.Ordinal);
        Assert.False(pi.Livemode);

        var expanded = await h.PaymentIntents.GetAsync(pi.Id, new PaymentIntentGetOptions { Expand = ["latest_charge"] });
        Assert.Equal(pi.LatestChargeId, expanded.LatestCharge.Id);
        Assert.Equal(2000, expanded.LatestCharge.Amount);
        Assert.Equal(0, expanded.LatestCharge.AmountRefunded);
        Assert.False(expanded.LatestCharge.Refunded);
        Assert.False(expanded.LatestCharge.Disputed);
        Assert.True(expanded.LatestCharge.Paid);

        var list = await h.PaymentIntents.ListAsync(new PaymentIntentListOptions { Customer = customer.Id });
        Assert.Single(list.Data);

        Assert.Contains("customer.created", h.Emulator.EventTypes);
        Assert.Contains("payment_method.attached", h.Emulator.EventTypes);
        Assert.Contains("charge.succeeded", h.Emulator.EventTypes);
        Assert.Contains("payment_intent.succeeded", h.Emulator.EventTypes);
    }

    [Theory]
    [InlineData("pm_card_chargeDeclined", "card_declined", "generic_decline", null)]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", "try_again_later")]
    [InlineData("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", "do_not_try_again")]
    [InlineData("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "confirm_card_data")]
    [InlineData("pm_card_chargeDeclinedFraudulent", "card_declined", "fraudulent", "do_not_try_again")]
    public async Task Decline_cards_fail_with_402_and_decline_code(string token, string code, string declineCode, string? advice)
    {
        await using var h = new Harness();
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(null, token));
        Assert.Equal(402, (int)ex.HttpStatusCode);
        Assert.Equal("card_error", ex.StripeError.Type);
        Assert.Equal(code, ex.StripeError.Code);
        Assert.Equal(declineCode, ex.StripeError.DeclineCode);
        Assert.Equal(advice, ex.StripeError.AdviceCode);
        Assert.NotNull(ex.StripeError.PaymentIntent);
        Assert.Equal("requires_payment_method", ex.StripeError.PaymentIntent.Status);

        var pi = await h.PaymentIntents.GetAsync(ex.StripeError.PaymentIntent.Id);
        Assert.Equal(declineCode, pi.LastPaymentError.DeclineCode);
        Assert.Equal(code, pi.LastPaymentError.Code);
        var charge = await h.Charges.GetAsync(pi.LatestChargeId);
        Assert.Equal("failed", charge.Status);
        Assert.Contains("payment_intent.payment_failed", h.Emulator.EventTypes);
    }

    [Fact]
    public async Task ChargeCustomerFail_attaches_then_declines()
    {
        await using var h = new Harness();
        var customer = await h.CustomerWithCardAsync("pm_card_chargeCustomerFail");
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(customer.Id, customer.InvoiceSettings.DefaultPaymentMethodId));
        Assert.Equal(402, (int)ex.HttpStatusCode);
        Assert.Equal("card_declined", ex.StripeError.Code);
    }

    [Fact]
    public async Task Attaching_a_decline_card_fails()
    {
        await using var h = new Harness();
        var customer = await h.Customers.CreateAsync(new CustomerCreateOptions());
        var ex = await Assert.ThrowsAsync<StripeException>(() =>
            h.PaymentMethods.AttachAsync("pm_card_chargeDeclined", new PaymentMethodAttachOptions { Customer = customer.Id }));
        Assert.Equal(402, (int)ex.HttpStatusCode);
        Assert.Equal("generic_decline", ex.StripeError.DeclineCode);
    }

    [Fact]
    public async Task AuthenticationRequired_goes_to_requires_action_on_session_and_declines_off_session()
    {
        await using var h = new Harness();
        var onSession = await h.ChargeAsync(null, "pm_card_authenticationRequired");
        Assert.Equal("requires_action", onSession.Status);
        Assert.Equal("use_stripe_sdk", onSession.NextAction.Type);
        Assert.Contains("payment_intent.requires_action", h.Emulator.EventTypes);

        h.Emulator.CompleteAuthentication(onSession.Id);
        Assert.Equal("succeeded", (await h.PaymentIntents.GetAsync(onSession.Id)).Status);

        var customer = await h.CustomerWithCardAsync("pm_card_authenticationRequired");
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.ChargeAsync(customer.Id, customer.InvoiceSettings.DefaultPaymentMethodId));
        Assert.Equal(402, (int)ex.HttpStatusCode);
        Assert.Equal("authentication_required", ex.StripeError.Code);
        Assert.Equal("authentication_required", ex.StripeError.DeclineCode);
    }

    [Fact]
    public async Task Manual_capture_then_capture_and_cancel()
    {
        await using var h = new Harness();
        var pi = await h.ChargeAsync(null, "pm_card_mastercard", 5000, captureMethod: "manual");
        Assert.Equal("requires_capture", pi.Status);
        Assert.Equal(5000, pi.AmountCapturable);
        var captured = await h.PaymentIntents.CaptureAsync(pi.Id, new PaymentIntentCaptureOptions { AmountToCapture = 4000 });
        Assert.Equal("succeeded", captured.Status);
        Assert.Equal(4000, captured.AmountReceived);

        var second = await h.ChargeAsync(null, "pm_card_visa", 5000, captureMethod: "manual");
        var canceled = await h.PaymentIntents.CancelAsync(second.Id, new PaymentIntentCancelOptions { CancellationReason = "requested_by_customer" });
        Assert.Equal("canceled", canceled.Status);
        var ex = await Assert.ThrowsAsync<StripeException>(() => h.PaymentIntents.CancelAsync(pi.Id));
        Assert.Equal("payment_intent_unexpected_state", ex.StripeError.Code);
    }

    [Fact]
    public async Task Two_step_create_then_confirm()
    {
        await using var h = new Harness();
        var pi = await h.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 1500, Currency = "eur" });
        Assert.Equal("requires_payment_method", pi.Status);
        Assert.StartsWith(pi.Id + "_secret_", pi.ClientSecret, StringComparison.Ordinal);
        var confirmed = await h.PaymentIntents.ConfirmAsync(pi.Id, new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa" });
        Assert.Equal("succeeded", confirmed.Status);
        var again = await Assert.ThrowsAsync<StripeException>(() => h.PaymentIntents.ConfirmAsync(pi.Id));
        Assert.Equal(400, (int)again.HttpStatusCode);
    }

    [Theory]
    [InlineData(0, "usd", "amount")]
    [InlineData(49, "usd", "amount")]
    [InlineData(1005, "kwd", "amount")]
    [InlineData(1000, "xyz", "currency")]
    public async Task Invalid_amounts_are_rejected(long amount, string currency, string param)
    {
        await using var h = new Harness();
        var ex = await Assert.ThrowsAsync<StripeException>(() =>
            h.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = amount, Currency = currency }));
        Assert.Equal(400, (int)ex.HttpStatusCode);
        Assert.Equal("invalid_request_error", ex.StripeError.Type);
        Assert.Equal(param, ex.StripeError.Param);
    }

    [Fact]
    public async Task Valid_zero_and_three_decimal_amounts_are_accepted()
    {
        await using var h = new Harness();
        Assert.Equal("succeeded", (await h.ChargeAsync(null, "pm_card_visa", 500, "jpy")).Status);
        Assert.Equal("succeeded", (await h.ChargeAsync(null, "pm_card_visa", 1010, "kwd")).Status);
    }

    [Fact]
    public async Task SetupIntent_saves_card_and_payment_methods_can_be_listed_and_detached()
    {
        await using var h = new Harness();
        var customer = await h.Customers.CreateAsync(new CustomerCreateOptions { Email = "b@example.com" });
        var si = await h.SetupIntents.CreateAsync(new SetupIntentCreateOptions { Customer = customer.Id, Usage = "off_session" });
        Assert.Equal("requires_payment_method", si.Status);
        Assert.StartsWith(si.Id + "_secret_", si.ClientSecret, StringComparison.Ordinal);
        var confirmed = await h.SetupIntents.ConfirmAsync(si.Id, new SetupIntentConfirmOptions { PaymentMethod = "pm_card_visa" });
        Assert.Equal("succeeded", confirmed.Status);
        Assert.Equal("succeeded", (await h.SetupIntents.GetAsync(si.Id)).Status);

        var pms = await h.PaymentMethods.ListAsync(new PaymentMethodListOptions { Customer = customer.Id, Type = "card" });
        var pm = Assert.Single(pms.Data);
        Assert.Equal(confirmed.PaymentMethodId, pm.Id);

        var updated = await h.Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions
        {
            InvoiceSettings = new CustomerInvoiceSettingsOptions { DefaultPaymentMethod = pm.Id },
            Metadata = new Dictionary<string, string> { ["tenant"] = "t1" },
        });
        Assert.Equal(pm.Id, updated.InvoiceSettings.DefaultPaymentMethodId);
        Assert.Equal("t1", updated.Metadata["tenant"]);

        var detached = await h.PaymentMethods.DetachAsync(pm.Id);
        Assert.Null(detached.CustomerId);
        Assert.Empty((await h.PaymentMethods.ListAsync(new PaymentMethodListOptions { Customer = customer.Id, Type = "card" })).Data);
        Assert.Null((await h.Customers.GetAsync(customer.Id)).InvoiceSettings.DefaultPaymentMethodId);
        Assert.Contains("setup_intent.succeeded", h.Emulator.EventTypes);
        Assert.Contains("payment_method.detached", h.Emulator.EventTypes);

        var deleted = await h.Customers.DeleteAsync(customer.Id);
        Assert.True(deleted.Deleted);
        var missing = await Assert.ThrowsAsync<StripeException>(() => h.Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions { Name = "x" }));
        Assert.Equal(404, (int)missing.HttpStatusCode);
        Assert.Equal("resource_missing", missing.StripeError.Code);
    }

    [Fact]
    public async Task Missing_or_wrong_api_key_is_401()
    {
        await using var h = new Harness();
        using var http = new HttpClient(h.Emulator.CreateHandler());
        var client = new StripeClient("pk_live_wrong", httpClient: new SystemNetHttpClient(http, 0), apiBase: StripeEmulator.InProcessBaseUrl);
        var ex = await Assert.ThrowsAsync<StripeException>(() => new CustomerService(client).CreateAsync(new CustomerCreateOptions()));
        Assert.Equal(401, (int)ex.HttpStatusCode);
        Assert.Equal("invalid_request_error", ex.StripeError.Type);

        using var raw = await http.GetAsync(new Uri(StripeEmulator.InProcessBaseUrl + "/v1/customers/cus_x"));
        Assert.Equal(401, (int)raw.StatusCode);
        Assert.True(raw.Headers.Contains("Request-Id"));
    }

    [Fact]
    public async Task Events_can_be_listed_and_retrieved()
    {
        await using var h = new Harness();
        var pi = await h.ChargeAsync(null, "pm_card_visa");
        var events = await h.Events.ListAsync(new EventListOptions { Type = "payment_intent.succeeded" });
        var evt = Assert.Single(events.Data);
        Assert.Equal(StripeEmulator.PinnedApiVersion, evt.ApiVersion);
        Assert.Equal(pi.Id, ((PaymentIntent)evt.Data.Object).Id);
        var again = await h.Events.GetAsync(evt.Id);
        Assert.Equal("payment_intent.succeeded", again.Type);
    }

    [Fact]
    public async Task Processing_payments_settle_later()
    {
        await using var h = new Harness();
        h.Emulator.MakeNextPaymentsProcessing();
        var pi = await h.ChargeAsync(null, "pm_card_visa");
        Assert.Equal("processing", pi.Status);
        Assert.Contains("payment_intent.processing", h.Emulator.EventTypes);
        h.Emulator.SettleProcessingPayments();
        var settled = await h.PaymentIntents.GetAsync(pi.Id, new PaymentIntentGetOptions { Expand = ["latest_charge"] });
        Assert.Equal("succeeded", settled.Status);
        Assert.Equal("succeeded", settled.LatestCharge.Status);
    }

    [Fact]
    public async Task Lists_paginate_and_expand_nested_fields()
    {
        await using var h = new Harness();
        var customer = await h.CustomerWithCardAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await h.ChargeAsync(customer.Id, customer.InvoiceSettings.DefaultPaymentMethodId, 1000 + i)).Id);
        }

        var page1 = await h.PaymentIntents.ListAsync(new PaymentIntentListOptions { Customer = customer.Id, Limit = 2, Expand = ["data.latest_charge"] });
        Assert.True(page1.HasMore);
        Assert.Equal([ids[2], ids[1]], page1.Data.Select(p => p.Id));
        Assert.Equal(1002, page1.Data[0].LatestCharge.Amount);
        var page2 = await h.PaymentIntents.ListAsync(new PaymentIntentListOptions { Customer = customer.Id, Limit = 2, StartingAfter = ids[1] });
        Assert.False(page2.HasMore);
        Assert.Equal(ids[0], Assert.Single(page2.Data).Id);
    }
}
