using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

public sealed partial class StripeEmulator
{
    private CustomerRec RequireCustomer(string id, bool allowDeleted = false, string param = "id")
    {
        if (!_customers.TryGetValue(id, out var c) || (c.Deleted && !allowDeleted))
        {
            throw StripeApiException.Missing("customer", id, param);
        }

        return c;
    }

    private JsonObject CreateCustomer(FormParams p)
    {
        var c = new CustomerRec
        {
            Id = Ids.New("cus_", 14),
            Created = NowUnix,
            Seq = ++_seq,
            Email = p.Get("email"),
            Name = p.Get("name"),
            Description = p.Get("description"),
            Phone = p.Get("phone"),
        };
        Json.ApplyMetadata(c.Metadata, p);
        var pmParam = p.Get("payment_method");
        PaymentMethodRec? pm = null;
        if (!string.IsNullOrEmpty(pmParam))
        {
            pm = ResolvePaymentMethod(pmParam, "payment_method");
            CheckAttachable(pm);
        }

        _customers[c.Id] = c;
        Emit("customer.created", c.ToJson());
        if (pm is not null)
        {
            AttachCore(pm, c);
        }

        var dpm = p.GetHash("invoice_settings")?.GetValueOrDefault("default_payment_method");
        if (!string.IsNullOrEmpty(dpm))
        {
            SetDefaultPaymentMethod(c, dpm);
        }

        return c.ToJson();
    }

    private JsonObject UpdateCustomer(string id, FormParams p)
    {
        var c = RequireCustomer(id);
        var before = c.ToJson();
        if (p.Has("email"))
        {
            c.Email = NullIfEmpty(p.Get("email"));
        }

        if (p.Has("name"))
        {
            c.Name = NullIfEmpty(p.Get("name"));
        }

        if (p.Has("description"))
        {
            c.Description = NullIfEmpty(p.Get("description"));
        }

        if (p.Has("phone"))
        {
            c.Phone = NullIfEmpty(p.Get("phone"));
        }

        Json.ApplyMetadata(c.Metadata, p);
        var invoiceSettings = p.GetHash("invoice_settings");
        if (invoiceSettings is not null && invoiceSettings.TryGetValue("default_payment_method", out var dpm))
        {
            if (dpm.Length == 0)
            {
                c.DefaultPaymentMethod = null;
            }
            else
            {
                SetDefaultPaymentMethod(c, dpm);
            }
        }

        var after = c.ToJson();
        Emit("customer.updated", after, PreviousAttributes(before, after));
        return c.ToJson();
    }

    private void SetDefaultPaymentMethod(CustomerRec c, string pmId)
    {
        if (!_paymentMethods.TryGetValue(pmId, out var pm) || pm.CustomerId != c.Id)
        {
            throw StripeApiException.InvalidRequest(
                $"The customer does not have a payment method with the ID {pmId}. The payment method must be attached to the customer.",
                "invoice_settings[default_payment_method]",
                "resource_missing");
        }

        c.DefaultPaymentMethod = pmId;
    }

    private JsonObject DeleteCustomer(string id)
    {
        var c = RequireCustomer(id);
        var last = c.ToJson();
        foreach (var pm in _paymentMethods.Values.Where(pm => pm.CustomerId == id))
        {
            pm.CustomerId = null;
        }

        c.Deleted = true;
        Emit("customer.deleted", last);
        return c.ToJson();
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>Top-level keys whose values changed, with their old values (Stripe's <c>previous_attributes</c>).</summary>
    private static JsonObject? PreviousAttributes(JsonObject before, JsonObject after)
    {
        var prev = new JsonObject();
        foreach (var (key, oldValue) in before)
        {
            if (!JsonNode.DeepEquals(oldValue, after[key]))
            {
                prev[key] = oldValue?.DeepClone();
            }
        }

        return prev.Count == 0 ? null : prev;
    }

    // ----- payment methods -----

    /// <summary>Finds a pm_ id, or materializes a test token (pm_card_visa...) as a new PaymentMethod.</summary>
    private PaymentMethodRec ResolvePaymentMethod(string idOrToken, string param)
    {
        if (_paymentMethods.TryGetValue(idOrToken, out var pm))
        {
            return pm;
        }

        var card = TestCard.Find(idOrToken) ?? throw StripeApiException.Missing("PaymentMethod", idOrToken, param);
        var now = _time.GetUtcNow() + _offset;
        pm = new PaymentMethodRec
        {
            Id = Ids.New("pm_"),
            Created = now.ToUnixTimeSeconds(),
            Seq = ++_seq,
            Card = card,
            ExpMonth = card.Behavior == CardBehavior.Decline && card.DeclineCode == "expired_card" ? now.Month : 12,
            ExpYear = now.Year + 3,
        };
        _paymentMethods[pm.Id] = pm;
        return pm;
    }

    private JsonObject UpdatePaymentMethod(string id, FormParams p)
    {
        var pm = ResolvePaymentMethod(id, "id");
        Json.ApplyMetadata(pm.Metadata, p);
        var billing = p.GetHash("billing_details");
        if (billing is not null)
        {
            if (billing.TryGetValue("name", out var name))
            {
                pm.BillingName = NullIfEmpty(name);
            }

            if (billing.TryGetValue("email", out var email))
            {
                pm.BillingEmail = NullIfEmpty(email);
            }
        }

        Emit("payment_method.updated", pm.ToJson());
        return pm.ToJson();
    }

    private static void CheckAttachable(PaymentMethodRec pm)
    {
        if (pm.Card.Behavior == CardBehavior.Decline)
        {
            throw CardError(pm.Card, pm);
        }
    }

    private JsonObject AttachPaymentMethod(string id, FormParams p)
    {
        var customerId = p.Get("customer") ?? throw StripeApiException.InvalidRequest("Missing required param: customer.", "customer", "parameter_missing");
        var customer = RequireCustomer(customerId, param: "customer");
        var pm = ResolvePaymentMethod(id, "payment_method");
        if (pm.CustomerId == customer.Id)
        {
            return pm.ToJson();
        }

        if (pm.CustomerId is not null)
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                "The payment method you provided has already been attached to a customer.", "payment_method_unexpected_state");
        }

        CheckAttachable(pm);
        AttachCore(pm, customer);
        return pm.ToJson();
    }

    private void AttachCore(PaymentMethodRec pm, CustomerRec customer)
    {
        pm.CustomerId = customer.Id;
        Emit("payment_method.attached", pm.ToJson());
    }

    private JsonObject DetachPaymentMethod(string id)
    {
        var pm = _paymentMethods.GetValueOrDefault(id) ?? throw StripeApiException.Missing("PaymentMethod", id);
        if (pm.CustomerId is null)
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                "payment_method_unexpected_state");
        }

        var previous = pm.CustomerId;
        if (_customers.TryGetValue(previous, out var c) && c.DefaultPaymentMethod == pm.Id)
        {
            c.DefaultPaymentMethod = null;
        }

        pm.CustomerId = null;
        Emit("payment_method.detached", pm.ToJson(), new JsonObject { ["customer"] = previous });
        return pm.ToJson();
    }

    private JsonObject ListPaymentMethods(string customerId, FormParams p, string url)
    {
        RequireCustomer(customerId, param: "customer");
        var type = p.Get("type");
        var items = _paymentMethods.Values
            .Where(pm => pm.CustomerId == customerId && (type is null || type == "card"))
            .OrderByDescending(pm => pm.Seq);
        return ListJson(items, pm => pm.Id, pm => pm.ToJson(), p, url);
    }

    private static StripeApiException CardError(TestCard card, PaymentMethodRec pm, JsonObject? paymentIntent = null, string? chargeId = null, JsonObject? setupIntent = null) =>
        new(402, "card_error", card.Message ?? "Your card was declined.", card.Code ?? "card_declined", card.Code == "incorrect_cvc" ? "cvc" : null)
        {
            DeclineCode = card.DeclineCode,
            AdviceCode = card.AdviceCode,
            PaymentIntent = paymentIntent,
            SetupIntent = setupIntent,
            PaymentMethod = pm.ToJson(),
            ChargeId = chargeId,
        };

    private static JsonObject LastError(TestCard card, PaymentMethodRec pm, string? chargeId)
    {
        var e = CardError(card, pm, chargeId: chargeId).ToJson()["error"]!.AsObject();
        e.Remove("request_log_url");
        return (JsonObject)e.DeepClone();
    }
}
