using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

public sealed partial class StripeEmulator
{
    // ----- setup intents -----

    private SetupIntentRec RequireSetupIntent(string id) =>
        _setupIntents.GetValueOrDefault(id) ?? throw StripeApiException.Missing("setup_intent", id);

    private JsonObject CreateSetupIntent(FormParams p)
    {
        var customerId = p.Get("customer");
        if (customerId is not null)
        {
            RequireCustomer(customerId, param: "customer");
        }

        var pmParam = p.Get("payment_method");
        var pm = string.IsNullOrEmpty(pmParam) ? null : ResolvePaymentMethod(pmParam, "payment_method");
        var id = Ids.New("seti_");
        var si = new SetupIntentRec
        {
            Id = id,
            Created = NowUnix,
            Seq = ++_seq,
            ClientSecret = id + "_secret_" + Ids.New(string.Empty, 24),
            CustomerId = customerId,
            PaymentMethodId = pm?.Id,
            Status = pm is null ? "requires_payment_method" : "requires_confirmation",
            Usage = p.Get("usage") ?? "off_session",
            Description = p.Get("description"),
        };
        Json.ApplyMetadata(si.Metadata, p);
        _setupIntents[si.Id] = si;
        Emit("setup_intent.created", si.ToJson());
        if (p.GetBool("confirm") == true)
        {
            return ConfirmSetupIntent(si, FormParams.Parse(null));
        }

        return si.ToJson();
    }

    private JsonObject UpdateSetupIntent(string id, FormParams p)
    {
        var si = RequireSetupIntent(id);
        Json.ApplyMetadata(si.Metadata, p);
        if (p.Has("description"))
        {
            si.Description = NullIfEmpty(p.Get("description"));
        }

        var pmParam = p.Get("payment_method");
        if (!string.IsNullOrEmpty(pmParam))
        {
            si.PaymentMethodId = ResolvePaymentMethod(pmParam, "payment_method").Id;
            if (si.Status == "requires_payment_method")
            {
                si.Status = "requires_confirmation";
            }
        }

        return si.ToJson();
    }

    private JsonObject ConfirmSetupIntent(SetupIntentRec si, FormParams p)
    {
        if (si.Status is not ("requires_payment_method" or "requires_confirmation" or "requires_action"))
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                $"You cannot confirm this SetupIntent because it has a status of {si.Status}.", "setup_intent_unexpected_state")
            { SetupIntent = si.ToJson() };
        }

        var pmParam = p.Get("payment_method");
        if (!string.IsNullOrEmpty(pmParam))
        {
            si.PaymentMethodId = ResolvePaymentMethod(pmParam, "payment_method").Id;
        }

        if (si.PaymentMethodId is null)
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                "You cannot confirm this SetupIntent because it's missing a payment method. Update it with a payment method and then confirm it again.",
                "setup_intent_unexpected_state")
            { SetupIntent = si.ToJson(), IsValidation = true };
        }

        var pm = _paymentMethods[si.PaymentMethodId];
        switch (pm.Card.Behavior)
        {
            case CardBehavior.Decline:
                si.Status = "requires_payment_method";
                si.LastSetupError = LastError(pm.Card, pm, null);
                Emit("setup_intent.setup_failed", si.ToJson());
                throw CardError(pm.Card, pm, setupIntent: si.ToJson());
            case CardBehavior.AuthenticationRequired when si.Status != "requires_action":
                si.Status = "requires_action";
                si.NextAction = true;
                Emit("setup_intent.requires_action", si.ToJson());
                return si.ToJson();
            default:
                si.Status = "succeeded";
                si.NextAction = false;
                si.LastSetupError = null;
                if (si.CustomerId is not null && pm.CustomerId is null)
                {
                    AttachCore(pm, RequireCustomer(si.CustomerId));
                }

                Emit("setup_intent.succeeded", si.ToJson());
                return si.ToJson();
        }
    }

    private JsonObject CancelSetupIntent(string id, FormParams p)
    {
        var si = RequireSetupIntent(id);
        if (si.Status is "succeeded" or "canceled")
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                $"You cannot cancel this SetupIntent because it has a status of {si.Status}.", "setup_intent_unexpected_state")
            { SetupIntent = si.ToJson() };
        }

        si.Status = "canceled";
        si.CancellationReason = p.Get("cancellation_reason");
        Emit("setup_intent.canceled", si.ToJson());
        return si.ToJson();
    }

    // ----- payment intents -----

    private PaymentIntentRec RequirePaymentIntent(string id) =>
        _paymentIntents.GetValueOrDefault(id) ?? throw StripeApiException.Missing("payment_intent", id);

    private JsonObject CreatePaymentIntent(FormParams p)
    {
        var amount = p.GetLong("amount");
        var currency = p.Get("currency");
        Currencies.ValidateChargeAmount(currency, amount);
        var captureMethod = p.Get("capture_method") ?? "automatic";
        if (captureMethod is not ("automatic" or "automatic_async" or "manual"))
        {
            throw StripeApiException.InvalidRequest($"Invalid capture_method: must be one of automatic, automatic_async, or manual", "capture_method");
        }

        var customerId = p.Get("customer");
        if (customerId is not null)
        {
            RequireCustomer(customerId, param: "customer");
        }

        var sfu = p.Get("setup_future_usage");
        if (sfu is not null and not ("off_session" or "on_session"))
        {
            throw StripeApiException.InvalidRequest("Invalid setup_future_usage: must be one of on_session or off_session", "setup_future_usage");
        }

        var confirm = p.GetBool("confirm") == true;
        var offSession = ParseOffSession(p);
        if (offSession is not null && !confirm)
        {
            throw StripeApiException.InvalidRequest("off_session can only be set when confirm=true.", "off_session");
        }

        var pmParam = p.Get("payment_method");
        PaymentMethodRec? pm = null;
        if (!string.IsNullOrEmpty(pmParam))
        {
            pm = ResolvePaymentMethod(pmParam, "payment_method");
            CheckPaymentMethodOwner(pm, customerId);
        }

        var id = Ids.New("pi_");
        var pi = new PaymentIntentRec
        {
            Id = id,
            Created = NowUnix,
            Seq = ++_seq,
            ClientSecret = id + "_secret_" + Ids.New(string.Empty, 25),
            Amount = amount!.Value,
            Currency = currency!.ToLowerInvariant(),
            CustomerId = customerId,
            PaymentMethodId = pm?.Id,
            CaptureMethod = captureMethod,
            Description = p.Get("description"),
            SetupFutureUsage = sfu,
            OffSession = offSession,
            Status = pm is null ? "requires_payment_method" : "requires_confirmation",
        };
        Json.ApplyMetadata(pi.Metadata, p);
        _paymentIntents[pi.Id] = pi;
        Emit("payment_intent.created", pi.ToJson());
        if (confirm)
        {
            return ConfirmPaymentIntent(pi, FormParams.Parse(null));
        }

        return pi.ToJson();
    }

    private static bool? ParseOffSession(FormParams p)
    {
        var v = p.Get("off_session");
        return v switch
        {
            null => null,
            "true" or "one_off" or "recurring" => true,
            "false" => false,
            _ => throw StripeApiException.InvalidRequest("Invalid off_session", "off_session"),
        };
    }

    private static void CheckPaymentMethodOwner(PaymentMethodRec pm, string? customerId)
    {
        if (pm.CustomerId is not null && pm.CustomerId != customerId)
        {
            throw StripeApiException.InvalidRequest(
                customerId is null
                    ? $"The provided PaymentMethod {pm.Id} is attached to a customer; pass that customer as well."
                    : $"The provided PaymentMethod {pm.Id} is attached to a different customer.",
                "payment_method");
        }
    }

    private JsonObject ListPaymentIntents(FormParams p)
    {
        var customer = p.Get("customer");
        var items = _paymentIntents.Values.Where(pi => customer is null || pi.CustomerId == customer).OrderByDescending(pi => pi.Seq);
        return ListJson(items, pi => pi.Id, pi => pi.ToJson(), p, "/v1/payment_intents");
    }

    private JsonObject UpdatePaymentIntent(string id, FormParams p)
    {
        var pi = RequirePaymentIntent(id);
        var before = pi.ToJson();
        var editable = pi.Status is "requires_payment_method" or "requires_confirmation" or "requires_action";
        if (p.Has("amount"))
        {
            if (!editable)
            {
                throw StripeApiException.UnexpectedState($"This PaymentIntent's amount could not be updated because it has a status of {pi.Status}.", pi.ToJson());
            }

            var amount = p.GetLong("amount");
            Currencies.ValidateChargeAmount(pi.Currency, amount);
            pi.Amount = amount!.Value;
        }

        if (p.Has("description"))
        {
            pi.Description = NullIfEmpty(p.Get("description"));
        }

        var pmParam = p.Get("payment_method");
        if (!string.IsNullOrEmpty(pmParam))
        {
            if (!editable)
            {
                throw StripeApiException.UnexpectedState($"This PaymentIntent's payment_method could not be updated because it has a status of {pi.Status}.", pi.ToJson());
            }

            var pm = ResolvePaymentMethod(pmParam, "payment_method");
            CheckPaymentMethodOwner(pm, pi.CustomerId);
            pi.PaymentMethodId = pm.Id;
            pi.Status = "requires_confirmation";
        }

        Json.ApplyMetadata(pi.Metadata, p);
        var after = pi.ToJson();
        if (PreviousAttributes(before, after) is { } prev)
        {
            Emit(prev.ContainsKey("amount") ? "payment_intent.amount_capturable_updated" : "payment_intent.updated", after, prev);
        }

        return pi.ToJson();
    }

    private JsonObject ConfirmPaymentIntent(PaymentIntentRec pi, FormParams p)
    {
        if (pi.Status is not ("requires_payment_method" or "requires_confirmation" or "requires_action"))
        {
            var msg = pi.Status == "succeeded"
                ? "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
                : $"You cannot confirm this PaymentIntent because it has a status of {pi.Status}.";
            throw StripeApiException.UnexpectedState(msg, pi.ToJson());
        }

        var pmParam = p.Get("payment_method");
        if (!string.IsNullOrEmpty(pmParam))
        {
            var newPm = ResolvePaymentMethod(pmParam, "payment_method");
            CheckPaymentMethodOwner(newPm, pi.CustomerId);
            pi.PaymentMethodId = newPm.Id;
        }

        if (ParseOffSession(p) is { } off)
        {
            pi.OffSession = off;
        }

        if (p.Get("setup_future_usage") is { } sfu)
        {
            pi.SetupFutureUsage = NullIfEmpty(sfu);
        }

        if (pi.PaymentMethodId is null)
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with "
                    + pi.CustomerId + ", specify a payment method attached to this customer along with the customer ID.",
                "payment_intent_unexpected_state")
            { PaymentIntent = pi.ToJson(), IsValidation = true };
        }

        var pm = _paymentMethods[pi.PaymentMethodId];
        pi.LastPaymentError = null;
        pi.NextAction = false;
        switch (pm.Card.Behavior)
        {
            case CardBehavior.Decline:
            case CardBehavior.DeclineOnCharge:
                FailPayment(pi, pm);
                break;
            case CardBehavior.AuthenticationRequired:
                if (pi.OffSession == true)
                {
                    FailPayment(pi, pm);
                }

                pi.Status = "requires_action";
                pi.NextAction = true;
                Emit("payment_intent.requires_action", pi.ToJson());
                return pi.ToJson();
        }

        ChargeSuccessfully(pi, pm);
        return pi.ToJson();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void FailPayment(PaymentIntentRec pi, PaymentMethodRec pm)
    {
        var card = pm.Card;
        var ch = NewCharge(pi, pm);
        ch.Status = "failed";
        ch.FailureCode = card.Code ?? "card_declined";
        ch.FailureMessage = card.Message;
        ch.DeclineCode = card.DeclineCode;
        _charges[ch.Id] = ch;
        Emit("charge.failed", ch.ToJson());
        pi.LatestChargeId = ch.Id;
        pi.Status = "requires_payment_method";
        pi.LastPaymentError = LastError(card, pm, ch.Id);
        Emit("payment_intent.payment_failed", pi.ToJson());
        throw CardError(card, pm, pi.ToJson(), ch.Id);
    }

    private ChargeRec NewCharge(PaymentIntentRec pi, PaymentMethodRec pm)
    {
        var ch = new ChargeRec
        {
            Id = Ids.New("ch_"),
            Created = NowUnix,
            Seq = ++_seq,
            Amount = pi.Amount,
            Currency = pi.Currency,
            PaymentMethod = pm,
            CustomerId = pi.CustomerId,
            PaymentIntentId = pi.Id,
            Description = pi.Description,
        };
        foreach (var (k, v) in pi.Metadata)
        {
            ch.Metadata[k] = v;
        }

        return ch;
    }

    private void ChargeSuccessfully(PaymentIntentRec pi, PaymentMethodRec pm)
    {
        var ch = NewCharge(pi, pm);
        _charges[ch.Id] = ch;
        pi.LatestChargeId = ch.Id;
        if (pi.SetupFutureUsage is not null && pi.CustomerId is not null && pm.CustomerId is null)
        {
            AttachCore(pm, RequireCustomer(pi.CustomerId));
        }

        if (_nextPaymentsProcessing > 0)
        {
            _nextPaymentsProcessing--;
            ch.Status = "pending";
            pi.Status = "processing";
            Emit("charge.pending", ch.ToJson());
            Emit("payment_intent.processing", pi.ToJson());
            return;
        }

        CompleteCharge(pi, ch);
    }

    private void CompleteCharge(PaymentIntentRec pi, ChargeRec ch)
    {
        ch.Status = "succeeded";
        if (pi.CaptureMethod == "manual")
        {
            ch.Captured = false;
            pi.Status = "requires_capture";
            pi.AmountCapturable = pi.Amount;
            Emit("charge.succeeded", ch.ToJson());
            Emit("payment_intent.amount_capturable_updated", pi.ToJson());
            return;
        }

        ch.Captured = true;
        ch.AmountCaptured = ch.Amount;
        ch.BalanceTransactionId = Ids.New("txn_");
        pi.Status = "succeeded";
        pi.AmountReceived = pi.Amount;
        Emit("charge.succeeded", ch.ToJson());
        Emit("payment_intent.succeeded", pi.ToJson());
        if (ch.PaymentMethod.Card.Behavior == CardBehavior.Dispute)
        {
            OpenDispute(ch, "fraudulent", inquiry: false);
        }
    }

    private void SettleProcessingCore(PaymentIntentRec pi, bool succeed)
    {
        if (pi.Status != "processing" || pi.LatestChargeId is null)
        {
            return;
        }

        var ch = _charges[pi.LatestChargeId];
        if (succeed)
        {
            CompleteCharge(pi, ch);
            return;
        }

        ch.Status = "failed";
        ch.FailureCode = "card_declined";
        ch.FailureMessage = "Your card was declined.";
        ch.DeclineCode = "generic_decline";
        pi.Status = "requires_payment_method";
        pi.LastPaymentError = new JsonObject
        {
            ["charge"] = ch.Id,
            ["code"] = "card_declined",
            ["decline_code"] = "generic_decline",
            ["message"] = "Your card was declined.",
            ["type"] = "card_error",
        };
        Emit("charge.failed", ch.ToJson());
        Emit("payment_intent.payment_failed", pi.ToJson());
    }

    private void CompleteAuthenticationCore(string piId, bool success)
    {
        var pi = _paymentIntents.GetValueOrDefault(piId) ?? throw new ArgumentException("No such PaymentIntent", nameof(piId));
        if (pi.Status != "requires_action")
        {
            throw new InvalidOperationException($"PaymentIntent {piId} has status {pi.Status}, not requires_action.");
        }

        pi.NextAction = false;
        var pm = _paymentMethods[pi.PaymentMethodId!];
        if (success)
        {
            ChargeSuccessfully(pi, pm);
            return;
        }

        pi.Status = "requires_payment_method";
        pi.LastPaymentError = new JsonObject
        {
            ["code"] = "payment_intent_authentication_failure",
            ["message"] = "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            ["payment_method"] = pm.ToJson(),
            ["type"] = "invalid_request_error",
        };
        Emit("payment_intent.payment_failed", pi.ToJson());
    }

    private JsonObject CapturePaymentIntent(string id, FormParams p)
    {
        var pi = RequirePaymentIntent(id);
        if (pi.Status != "requires_capture")
        {
            throw StripeApiException.UnexpectedState(
                $"This PaymentIntent could not be captured because it has a status of {pi.Status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
                pi.ToJson());
        }

        var amount = p.GetLong("amount_to_capture") ?? pi.AmountCapturable;
        if (amount <= 0 || amount > pi.AmountCapturable)
        {
            throw StripeApiException.InvalidRequest(
                "The amount to capture must be positive and not greater than the amount capturable.", "amount_to_capture", "amount_too_large");
        }

        Json.ApplyMetadata(pi.Metadata, p);
        var ch = _charges[pi.LatestChargeId!];
        ch.Captured = true;
        ch.AmountCaptured = amount;
        ch.BalanceTransactionId = Ids.New("txn_");
        pi.AmountReceived = amount;
        pi.AmountCapturable = 0;
        pi.Status = "succeeded";
        Emit("charge.captured", ch.ToJson());
        Emit("payment_intent.succeeded", pi.ToJson());
        if (ch.PaymentMethod.Card.Behavior == CardBehavior.Dispute)
        {
            OpenDispute(ch, "fraudulent", inquiry: false);
        }

        return pi.ToJson();
    }

    private JsonObject CancelPaymentIntent(string id, FormParams p)
    {
        var pi = RequirePaymentIntent(id);
        if (pi.Status is not ("requires_payment_method" or "requires_capture" or "requires_confirmation" or "requires_action"))
        {
            throw StripeApiException.UnexpectedState(
                $"You cannot cancel this PaymentIntent because it has a status of {pi.Status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                pi.ToJson());
        }

        var reason = p.Get("cancellation_reason");
        if (reason is not null and not ("duplicate" or "fraudulent" or "requested_by_customer" or "abandoned"))
        {
            throw StripeApiException.InvalidRequest("Invalid cancellation_reason", "cancellation_reason");
        }

        if (pi.Status == "requires_capture" && pi.LatestChargeId is not null)
        {
            var ch = _charges[pi.LatestChargeId];
            ch.AmountRefunded = ch.Amount;
            pi.AmountCapturable = 0;
            Emit("charge.refunded", ch.ToJson());
        }

        pi.Status = "canceled";
        pi.NextAction = false;
        pi.CanceledAt = NowUnix;
        pi.CancellationReason = reason;
        Emit("payment_intent.canceled", pi.ToJson());
        return pi.ToJson();
    }

    // ----- charges -----

    private ChargeRec RequireCharge(string id, string param = "id") =>
        _charges.GetValueOrDefault(id) ?? throw StripeApiException.Missing("charge", id, param);

    private JsonObject ListCharges(FormParams p)
    {
        var pi = p.Get("payment_intent");
        var customer = p.Get("customer");
        var items = _charges.Values
            .Where(c => (pi is null || c.PaymentIntentId == pi) && (customer is null || c.CustomerId == customer))
            .OrderByDescending(c => c.Seq);
        return ListJson(items, c => c.Id, c => c.ToJson(), p, "/v1/charges");
    }
}
