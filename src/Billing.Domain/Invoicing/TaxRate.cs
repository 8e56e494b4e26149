namespace Billing.Domain.Invoicing;

/// <summary>
/// A tax the merchant charges (VAT 20 %, sales tax 8.875 %): a percentage, whether prices already include it,
/// and how it is printed. Rates are snapshotted onto invoice lines, so archiving or editing a rate never changes
/// an issued invoice.
/// </summary>
/// <remarks>
/// Per line, on the line's net amount <c>n</c> (amount after that line's discounts), with rate <c>r = Percentage / 100</c>:
/// exclusive → <c>tax = round(n × r)</c>, added on top of the line; inclusive → <c>tax = round(n × r / (1 + r))</c>,
/// extracted from the line (the line total does not grow). Rounding is half away from zero, once per line and rate,
/// computed exactly in integers (percentages have at most 4 decimals). Several inclusive rates on one line are
/// extracted together: <c>tax_i = round(n × r_i / (1 + Σr))</c>.
/// </remarks>
public sealed record TaxRate
{
    public const string IdPrefix = "txr";

    private const long Scale = 10_000; // percentage scaled to an integer: 20.0 % → 200_000

    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>Percentage, 0–100 with at most 4 decimals (20 = 20 %).</summary>
    public required decimal Percentage { get; init; }

    /// <summary>True when the amounts it applies to already include the tax (EU consumer prices).</summary>
    public bool Inclusive { get; init; }

    public string? Jurisdiction { get; init; }

    public string? Country { get; init; }

    public string? Description { get; init; }

    public bool Active { get; init; } = true;

    public DateTimeOffset Created { get; init; }

    /// <summary>Creates a validated tax rate; throws <see cref="DomainValidationException"/> listing bad fields.</summary>
    public static TaxRate Create(string id, string? displayName, decimal percentage, bool inclusive, string? jurisdiction, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrWhiteSpace(displayName) || displayName.Length > 50, "display_name", "Is required, at most 50 characters.");
        errors.AddIf(percentage is < 0 or > 100, "percentage", "Must be between 0 and 100.");
        errors.AddIf(decimal.Round(percentage, 4) != percentage, "percentage", "At most 4 decimal places are allowed.");
        errors.AddIf(jurisdiction is { Length: > 50 }, "jurisdiction", "Must be at most 50 characters.");
        errors.ThrowIfAny();
        return new TaxRate { Id = id, DisplayName = displayName!.Trim(), Percentage = percentage, Inclusive = inclusive, Jurisdiction = jurisdiction, Created = now };
    }

    internal long ScaledPercentage => decimal.ToInt64(Percentage * Scale);

    /// <summary>Exclusive tax on a net amount: <c>round(net × p / 100)</c>.</summary>
    public static long ExclusiveTax(long net, decimal percentage) =>
        Money.RoundRatio((Int128)net * decimal.ToInt64(percentage * Scale), 100 * Scale);

    /// <summary>Inclusive tax contained in a gross amount: <c>round(gross × p / (100 + p))</c>.</summary>
    public static long InclusiveTax(long gross, decimal percentage) => InclusiveTax(gross, percentage, percentage);

    /// <summary>Share of rate <paramref name="percentage"/> in <paramref name="gross"/> when all inclusive rates on the line sum to <paramref name="totalInclusivePercentage"/>.</summary>
    public static long InclusiveTax(long gross, decimal percentage, decimal totalInclusivePercentage) =>
        Money.RoundRatio((Int128)gross * decimal.ToInt64(percentage * Scale), (100 * Scale) + decimal.ToInt64(totalInclusivePercentage * Scale));
}

/// <summary>The tax of one rate on one line (or summed over an invoice): amount, whether it was inside the price, and the taxable base.</summary>
public sealed record TaxAmount
{
    public required string TaxRateId { get; init; }

    public required string DisplayName { get; init; }

    public decimal Percentage { get; init; }

    public bool Inclusive { get; init; }

    public string? Jurisdiction { get; init; }

    /// <summary>Tax in minor units.</summary>
    public long Amount { get; init; }

    /// <summary>The amount the tax was computed on, excluding the tax itself.</summary>
    public long TaxableAmount { get; init; }
}
