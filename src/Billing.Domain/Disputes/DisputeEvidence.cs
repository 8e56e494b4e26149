namespace Billing.Domain.Disputes;

/// <summary>
/// Stripe's evidence fields and their limits. Text fields hold up to 20,000 characters (short identity fields 5,000);
/// file fields hold a Stripe file id (<c>file_…</c>) or, for <c>receipt</c> and other documents, a reference to one of our
/// invoices (<c>invoice:in_…</c>) whose PDF is uploaded when the evidence is sent. All text together may not exceed
/// 150,000 characters.
/// </summary>
public static class DisputeEvidence
{
    public const int ShortTextLimit = 5_000;
    public const int LongTextLimit = 20_000;
    public const int TotalTextLimit = 150_000;

    public static readonly IReadOnlySet<string> ShortTextFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "customer_name", "customer_email_address", "customer_purchase_ip", "billing_address", "service_date", "shipping_address",
        "shipping_carrier", "shipping_date", "shipping_tracking_number", "product_description_short", "duplicate_charge_id",
        "refund_refusal_explanation_short", "cancellation_rebuttal_short",
    };

    public static readonly IReadOnlySet<string> LongTextFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "product_description", "access_activity_log", "cancellation_policy_disclosure", "cancellation_rebuttal",
        "duplicate_charge_explanation", "refund_policy_disclosure", "refund_refusal_explanation", "uncategorized_text",
    };

    public static readonly IReadOnlySet<string> FileFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "receipt", "customer_communication", "customer_signature", "refund_policy", "cancellation_policy", "service_documentation",
        "shipping_documentation", "duplicate_charge_documentation", "uncategorized_file",
    };

    /// <summary>Checks the fields being staged (<paramref name="changes"/>) and the merged total; throws listing every problem.</summary>
    public static void Validate(IReadOnlyDictionary<string, string?> changes, IReadOnlyDictionary<string, string> merged)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(merged);
        var errors = new ValidationErrors();
        errors.AddIf(changes.Count == 0, "evidence", "Send at least one evidence field.");
        foreach (var (name, value) in changes)
        {
            var field = "evidence." + name;
            if (ShortTextFields.Contains(name))
            {
                errors.AddIf(value is { Length: > ShortTextLimit }, field, $"Must be at most {ShortTextLimit} characters.");
            }
            else if (LongTextFields.Contains(name))
            {
                errors.AddIf(value is { Length: > LongTextLimit }, field, $"Must be at most {LongTextLimit} characters.");
            }
            else if (FileFields.Contains(name))
            {
                errors.AddIf(value is { Length: > 0 } && !IsFileReference(value), field, "Must be a Stripe file id (file_…) or an invoice reference (invoice:in_…).");
            }
            else
            {
                errors.Add(field, "Unknown evidence field.");
            }
        }

        var total = merged.Where(e => !FileFields.Contains(e.Key)).Sum(e => e.Value.Length);
        errors.AddIf(total > TotalTextLimit, "evidence", $"All text evidence together must be at most {TotalTextLimit} characters (now {total}).");
        errors.ThrowIfAny();
    }

    /// <summary>The invoice id of an <c>invoice:in_…</c> reference, or null.</summary>
    public static string? InvoiceReference(string value) =>
        value is not null && value.StartsWith("invoice:", StringComparison.Ordinal) ? value["invoice:".Length..] : null;

    private static bool IsFileReference(string value) =>
        (value.StartsWith("file_", StringComparison.Ordinal) && value.Length <= 100 && value.Skip(5).All(char.IsAsciiLetterOrDigit)) ||
        (InvoiceReference(value) is { Length: > 3 and <= 64 } invoice && invoice.StartsWith("in_", StringComparison.Ordinal));
}
