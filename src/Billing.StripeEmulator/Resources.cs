using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

internal static class Json
{
    public static JsonObject Meta(Dictionary<string, string> metadata)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = v;
        }

        return o;
    }

    public static JsonObject Address() => new()
    {
        ["city"] = null,
        ["country"] = null,
        ["line1"] = null,
        ["line2"] = null,
        ["postal_code"] = null,
        ["state"] = null,
    };

    public static JsonObject BillingDetails(string? name, string? email) => new()
    {
        ["address"] = Address(),
        ["email"] = email,
        ["name"] = name,
        ["phone"] = null,
        ["tax_id"] = null,
    };

    /// <summary>Applies Stripe metadata update semantics: empty value deletes the key; <c>metadata=</c> clears all.</summary>
    public static void ApplyMetadata(Dictionary<string, string> target, FormParams p)
    {
        var update = p.GetHash("metadata");
        if (update is null)
        {
            return;
        }

        if (update.Count == 0)
        {
            target.Clear();
            return;
        }

        foreach (var (k, v) in update)
        {
            if (v.Length == 0)
            {
                target.Remove(k);
            }
            else
            {
                target[k] = v;
            }
        }
    }
}

internal abstract class Resource
{
    public required string Id { get; init; }

    public required long Created { get; init; }

    public long Seq { get; init; }

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
}

internal sealed class CustomerRec : Resource
{
    public string? Email { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public string? Phone { get; set; }

    public string? DefaultPaymentMethod { get; set; }

    public bool Deleted { get; set; }

    public JsonObject ToJson()
    {
        if (Deleted)
        {
            return new JsonObject { ["id"] = Id, ["object"] = "customer", ["deleted"] = true };
        }

        return new JsonObject
        {
            ["id"] = Id,
            ["object"] = "customer",
            ["address"] = null,
            ["balance"] = 0,
            ["created"] = Created,
            ["currency"] = null,
            ["default_source"] = null,
            ["delinquent"] = false,
            ["description"] = Description,
            ["discount"] = null,
            ["email"] = Email,
            ["invoice_prefix"] = Id.Substring(4, 8).ToUpperInvariant(),
            ["invoice_settings"] = new JsonObject
            {
                ["custom_fields"] = null,
                ["default_payment_method"] = DefaultPaymentMethod,
                ["footer"] = null,
                ["rendering_options"] = null,
            },
            ["livemode"] = false,
            ["metadata"] = Json.Meta(Metadata),
            ["name"] = Name,
            ["phone"] = Phone,
            ["preferred_locales"] = new JsonArray(),
            ["shipping"] = null,
            ["tax_exempt"] = "none",
            ["test_clock"] = null,
        };
    }
}

internal sealed class PaymentMethodRec : Resource
{
    public required TestCard Card { get; init; }

    public required int ExpMonth { get; init; }

    public required int ExpYear { get; init; }

    public string? CustomerId { get; set; }

    public string? BillingName { get; set; }

    public string? BillingEmail { get; set; }

    public JsonObject CardDetailsJson() => new()
    {
        ["brand"] = Card.Brand,
        ["country"] = Card.Country,
        ["exp_month"] = ExpMonth,
        ["exp_year"] = ExpYear,
        ["fingerprint"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Card.Token)))[..16],
        ["funding"] = Card.Funding,
        ["last4"] = Card.Last4,
    };

    public JsonObject ToJson()
    {
        var card = CardDetailsJson();
        card["checks"] = new JsonObject
        {
            ["address_line1_check"] = null,
            ["address_postal_code_check"] = null,
            ["cvc_check"] = "pass",
        };
        card["display_brand"] = Card.Brand;
        card["generated_from"] = null;
        card["networks"] = new JsonObject { ["available"] = new JsonArray(Card.Brand), ["preferred"] = null };
        card["regulated_status"] = "unregulated";
        card["three_d_secure_usage"] = new JsonObject { ["supported"] = true };
        card["wallet"] = null;
        return new JsonObject
        {
            ["id"] = Id,
            ["object"] = "payment_method",
            ["allow_redisplay"] = "unspecified",
            ["billing_details"] = Json.BillingDetails(BillingName, BillingEmail),
            ["card"] = card,
            ["created"] = Created,
            ["customer"] = CustomerId,
            ["livemode"] = false,
            ["metadata"] = Json.Meta(Metadata),
            ["type"] = "card",
        };
    }
}

internal sealed class SetupIntentRec : Resource
{
    public required string ClientSecret { get; init; }

    public string? CustomerId { get; set; }

    public string? PaymentMethodId { get; set; }

    public string Status { get; set; } = "requires_payment_method";

    public string Usage { get; set; } = "off_session";

    public string? Description { get; set; }

    public JsonObject? LastSetupError { get; set; }

    public bool NextAction { get; set; }

    public string? CancellationReason { get; set; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["object"] = "setup_intent",
        ["application"] = null,
        ["automatic_payment_methods"] = null,
        ["cancellation_reason"] = CancellationReason,
        ["client_secret"] = ClientSecret,
        ["created"] = Created,
        ["customer"] = CustomerId,
        ["description"] = Description,
        ["flow_directions"] = null,
        ["last_setup_error"] = LastSetupError?.DeepClone(),
        ["latest_attempt"] = null,
        ["livemode"] = false,
        ["mandate"] = null,
        ["metadata"] = Json.Meta(Metadata),
        ["next_action"] = NextAction ? Intents.UseStripeSdkAction(Id) : null,
        ["on_behalf_of"] = null,
        ["payment_method"] = PaymentMethodId,
        ["payment_method_options"] = new JsonObject
        {
            ["card"] = new JsonObject { ["mandate_options"] = null, ["network"] = null, ["request_three_d_secure"] = "automatic" },
        },
        ["payment_method_types"] = new JsonArray("card"),
        ["single_use_mandate"] = null,
        ["status"] = Status,
        ["usage"] = Usage,
    };
}

internal static class Intents
{
    public static JsonObject UseStripeSdkAction(string intentId) => new()
    {
        ["type"] = "use_stripe_sdk",
        ["use_stripe_sdk"] = new JsonObject
        {
            ["type"] = "three_d_secure_redirect",
            ["source"] = "src_" + intentId[(intentId.IndexOf('_', StringComparison.Ordinal) + 1)..],
            ["stripe_js"] = "https://hooks.stripe.com/3d_secure_2/hosted",
        },
    };
}

internal sealed class PaymentIntentRec : Resource
{
    public required string ClientSecret { get; init; }

    public required long Amount { get; set; }

    public required string Currency { get; set; }

    public string? CustomerId { get; set; }

    public string? PaymentMethodId { get; set; }

    public string Status { get; set; } = "requires_payment_method";

    public string CaptureMethod { get; set; } = "automatic";

    public string? Description { get; set; }

    public string? SetupFutureUsage { get; set; }

    public bool? OffSession { get; set; }

    public string? LatestChargeId { get; set; }

    public JsonObject? LastPaymentError { get; set; }

    public long AmountCapturable { get; set; }

    public long AmountReceived { get; set; }

    public long? CanceledAt { get; set; }

    public string? CancellationReason { get; set; }

    public bool NextAction { get; set; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["object"] = "payment_intent",
        ["amount"] = Amount,
        ["amount_capturable"] = AmountCapturable,
        ["amount_details"] = new JsonObject { ["tip"] = new JsonObject() },
        ["amount_received"] = AmountReceived,
        ["application"] = null,
        ["application_fee_amount"] = null,
        ["automatic_payment_methods"] = null,
        ["canceled_at"] = CanceledAt,
        ["cancellation_reason"] = CancellationReason,
        ["capture_method"] = CaptureMethod,
        ["client_secret"] = ClientSecret,
        ["confirmation_method"] = "automatic",
        ["created"] = Created,
        ["currency"] = Currency,
        ["customer"] = CustomerId,
        ["description"] = Description,
        ["last_payment_error"] = LastPaymentError?.DeepClone(),
        ["latest_charge"] = LatestChargeId,
        ["livemode"] = false,
        ["metadata"] = Json.Meta(Metadata),
        ["next_action"] = NextAction ? Intents.UseStripeSdkAction(Id) : null,
        ["on_behalf_of"] = null,
        ["payment_method"] = PaymentMethodId,
        ["payment_method_configuration_details"] = null,
        ["payment_method_options"] = new JsonObject
        {
            ["card"] = new JsonObject
            {
                ["installments"] = null,
                ["mandate_options"] = null,
                ["network"] = null,
                ["request_three_d_secure"] = "automatic",
            },
        },
        ["payment_method_types"] = new JsonArray("card"),
        ["processing"] = null,
        ["receipt_email"] = null,
        ["review"] = null,
        ["setup_future_usage"] = SetupFutureUsage,
        ["shipping"] = null,
        ["source"] = null,
        ["statement_descriptor"] = null,
        ["statement_descriptor_suffix"] = null,
        ["status"] = Status,
        ["transfer_data"] = null,
        ["transfer_group"] = null,
    };
}

internal sealed class ChargeRec : Resource
{
    public required long Amount { get; init; }

    public required string Currency { get; init; }

    public required PaymentMethodRec PaymentMethod { get; init; }

    public string? CustomerId { get; init; }

    public string? PaymentIntentId { get; init; }

    public string? Description { get; init; }

    public string Status { get; set; } = "succeeded";

    public bool Captured { get; set; }

    public long AmountCaptured { get; set; }

    public long AmountRefunded { get; set; }

    public bool Disputed { get; set; }

    public string? FailureCode { get; set; }

    public string? FailureMessage { get; set; }

    public string? DeclineCode { get; set; }

    public string? BalanceTransactionId { get; set; }

    public bool Refunded => AmountCaptured > 0 ? AmountRefunded >= AmountCaptured : AmountRefunded >= Amount && AmountRefunded > 0;

    public JsonObject ToJson()
    {
        var failed = Status == "failed";
        var details = PaymentMethod.CardDetailsJson();
        details["checks"] = new JsonObject { ["address_line1_check"] = null, ["address_postal_code_check"] = null, ["cvc_check"] = "pass" };
        details["network"] = PaymentMethod.Card.Brand;
        details["three_d_secure"] = null;
        details["wallet"] = null;
        return new JsonObject
        {
            ["id"] = Id,
            ["object"] = "charge",
            ["amount"] = Amount,
            ["amount_captured"] = AmountCaptured,
            ["amount_refunded"] = AmountRefunded,
            ["application"] = null,
            ["application_fee"] = null,
            ["application_fee_amount"] = null,
            ["balance_transaction"] = BalanceTransactionId,
            ["billing_details"] = Json.BillingDetails(PaymentMethod.BillingName, PaymentMethod.BillingEmail),
            ["calculated_statement_descriptor"] = "BILLING",
            ["captured"] = Captured,
            ["created"] = Created,
            ["currency"] = Currency,
            ["customer"] = CustomerId,
            ["description"] = Description,
            ["disputed"] = Disputed,
            ["failure_balance_transaction"] = null,
            ["failure_code"] = FailureCode,
            ["failure_message"] = FailureMessage,
            ["fraud_details"] = new JsonObject(),
            ["livemode"] = false,
            ["metadata"] = Json.Meta(Metadata),
            ["on_behalf_of"] = null,
            ["outcome"] = new JsonObject
            {
                ["advice_code"] = null,
                ["network_advice_code"] = null,
                ["network_decline_code"] = null,
                ["network_status"] = failed ? "declined_by_network" : "approved_by_network",
                ["reason"] = failed ? DeclineCode : null,
                ["risk_level"] = "normal",
                ["risk_score"] = 20,
                ["seller_message"] = failed ? "The bank returned the decline code `" + DeclineCode + "`." : "Payment complete.",
                ["type"] = failed ? "issuer_declined" : "authorized",
            },
            ["paid"] = Status == "succeeded",
            ["payment_intent"] = PaymentIntentId,
            ["payment_method"] = PaymentMethod.Id,
            ["payment_method_details"] = new JsonObject { ["card"] = details, ["type"] = "card" },
            ["receipt_email"] = null,
            ["receipt_number"] = null,
            ["receipt_url"] = null,
            ["refunded"] = Refunded,
            ["review"] = null,
            ["shipping"] = null,
            ["source_transfer"] = null,
            ["statement_descriptor"] = null,
            ["statement_descriptor_suffix"] = null,
            ["status"] = Status,
            ["transfer_data"] = null,
            ["transfer_group"] = null,
        };
    }
}

internal sealed class RefundRec : Resource
{
    public required long Amount { get; init; }

    public required string Currency { get; init; }

    public required string ChargeId { get; init; }

    public string? PaymentIntentId { get; init; }

    public string? Reason { get; init; }

    public string Status { get; set; } = "succeeded";

    public string? FailureReason { get; set; }

    public string? BalanceTransactionId { get; init; }

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["id"] = Id,
            ["object"] = "refund",
            ["amount"] = Amount,
            ["balance_transaction"] = BalanceTransactionId,
            ["charge"] = ChargeId,
            ["created"] = Created,
            ["currency"] = Currency,
            ["destination_details"] = new JsonObject
            {
                ["card"] = new JsonObject
                {
                    ["reference_status"] = Status == "succeeded" ? "available" : "pending",
                    ["reference_type"] = "acquirer_reference_number",
                    ["type"] = "refund",
                },
                ["type"] = "card",
            },
            ["metadata"] = Json.Meta(Metadata),
            ["payment_intent"] = PaymentIntentId,
            ["reason"] = Reason,
            ["receipt_number"] = null,
            ["source_transfer_reversal"] = null,
            ["status"] = Status,
            ["transfer_reversal"] = null,
        };
        if (FailureReason is not null)
        {
            o["failure_reason"] = FailureReason;
        }

        return o;
    }
}

internal sealed class DisputeRec : Resource
{
    /// <summary>Evidence fields that hold a file id.</summary>
    public static readonly HashSet<string> FileEvidenceFields = new(StringComparer.Ordinal)
    {
        "cancellation_policy", "customer_communication", "customer_signature", "duplicate_charge_documentation", "receipt",
        "refund_policy", "service_documentation", "shipping_documentation", "uncategorized_file",
    };

    public static readonly string[] EvidenceFields =
    [
        "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
        "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
        "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation", "duplicate_charge_explanation",
        "duplicate_charge_id", "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
        "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address", "shipping_carrier",
        "shipping_date", "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
    ];

    public required long Amount { get; init; }

    public required string Currency { get; init; }

    public required string ChargeId { get; init; }

    public string? PaymentIntentId { get; init; }

    public required long DueBy { get; init; }

    public string Status { get; set; } = "needs_response";

    public string Reason { get; set; } = "fraudulent";

    public Dictionary<string, string> Evidence { get; } = new(StringComparer.Ordinal);

    public bool HasEvidence { get; set; }

    public int SubmissionCount { get; set; }

    public List<JsonObject> BalanceTransactions { get; } = [];

    public bool IsClosed => Status is "won" or "lost" or "warning_closed" or "prevented";

    public JsonObject ToJson(long now)
    {
        var evidence = new JsonObject();
        foreach (var f in EvidenceFields)
        {
            evidence[f] = Evidence.TryGetValue(f, out var v) ? v : null;
        }

        evidence["enhanced_evidence"] = new JsonObject();
        var txns = new JsonArray();
        foreach (var t in BalanceTransactions)
        {
            txns.Add(t.DeepClone());
        }

        return new JsonObject
        {
            ["id"] = Id,
            ["object"] = "dispute",
            ["amount"] = Amount,
            ["balance_transactions"] = txns,
            ["charge"] = ChargeId,
            ["created"] = Created,
            ["currency"] = Currency,
            ["enhanced_eligibility_types"] = new JsonArray(),
            ["evidence"] = evidence,
            ["evidence_details"] = new JsonObject
            {
                ["due_by"] = DueBy,
                ["enhanced_eligibility"] = new JsonObject(),
                ["has_evidence"] = HasEvidence,
                ["past_due"] = !IsClosed && now > DueBy,
                ["submission_count"] = SubmissionCount,
            },
            ["is_charge_refundable"] = false,
            ["livemode"] = false,
            ["metadata"] = Json.Meta(Metadata),
            ["payment_intent"] = PaymentIntentId,
            ["payment_method_details"] = new JsonObject
            {
                ["card"] = new JsonObject { ["brand"] = "visa", ["case_type"] = "chargeback", ["network_reason_code"] = "10.4" },
                ["type"] = "card",
            },
            ["reason"] = Reason,
            ["status"] = Status,
        };
    }
}
