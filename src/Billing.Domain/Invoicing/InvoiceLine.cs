namespace Billing.Domain.Invoicing;

/// <summary>What a line bills for.</summary>
public enum InvoiceLineKind
{
    /// <summary>A subscription item's charge for one full period, billed in advance at the period start.</summary>
    Subscription,

    /// <summary>A credit or charge for part of a period after a mid-period change.</summary>
    Proration,

    /// <summary>An ad-hoc charge or credit (Stripe's invoice item without a subscription period).</summary>
    OneOff,
}

/// <summary>
/// A charge or credit waiting for the next invoice of its customer (Stripe's pending invoice item): prorations made by
/// subscription changes and one-off items. <see cref="Amount"/> is signed: negative for credits. Once an invoice
/// carries it (<see cref="InvoiceLine.PendingItemId"/>), the generator never picks it up again.
/// </summary>
public sealed record PendingInvoiceItem
{
    public const string IdPrefix = "ii";

    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    public required string Currency { get; init; }

    public string? SubscriptionId { get; init; }

    public string? SubscriptionItemId { get; init; }

    public InvoiceLineKind Kind { get; init; } = InvoiceLineKind.OneOff;

    public required string Description { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    public DateTimeOffset PeriodEnd { get; init; }

    public long Quantity { get; init; } = 1;

    /// <summary>Full (unprorated) per-unit amount, for display; null when not meaningful (tiers).</summary>
    public long? UnitAmount { get; init; }

    /// <summary>Signed amount in minor units (already prorated for prorations).</summary>
    public long Amount { get; init; }

    public string? PriceId { get; init; }

    public string? ProductId { get; init; }

    public bool Discountable { get; init; } = true;

    /// <summary>Rates for this item; null means the invoice's default rates.</summary>
    public IReadOnlyList<TaxRate>? TaxRates { get; init; }

    public DateTimeOffset Created { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    /// <summary>A validated one-off item: <c>amount = unit_amount × quantity</c> (or a given signed amount with quantity 1).</summary>
    public static PendingInvoiceItem OneOff(string id, string customerId, string currency, string description, long unitAmount, long quantity,
        DateTimeOffset now, string? subscriptionId = null, IReadOnlyList<TaxRate>? taxRates = null, bool discountable = true)
    {
        var errors = new ValidationErrors();
        errors.AddIf(!Domain.Currency.TryFromCode(currency, out var parsed), "currency", "Must be a supported ISO 4217 currency code.");
        errors.AddIf(string.IsNullOrWhiteSpace(description) || description.Length > 500, "description", "Is required, at most 500 characters.");
        errors.AddIf(quantity < 1, "quantity", "Must be at least 1.");
        errors.AddIf(Math.Abs(unitAmount) > Catalog.Price.MaxAmount, "unit_amount", "Is too large.");
        errors.AddIf(quantity >= 1 && Int128.Abs((Int128)unitAmount * quantity) > Catalog.Price.MaxAmount, "quantity", $"unit_amount × quantity must be at most {Catalog.Price.MaxAmount} in absolute value.");
        errors.ThrowIfAny();
        return new PendingInvoiceItem
        {
            Id = id,
            CustomerId = customerId,
            Currency = parsed!.Code,
            SubscriptionId = subscriptionId,
            Kind = InvoiceLineKind.OneOff,
            Description = description.Trim(),
            PeriodStart = now,
            PeriodEnd = now,
            Quantity = quantity,
            UnitAmount = unitAmount,
            Amount = checked(unitAmount * quantity),
            TaxRates = taxRates,
            Discountable = discountable,
            Created = now,
        };
    }

    /// <summary>
    /// The pending item a proration line of a draft consumed, put back when that draft is deleted, so what a
    /// subscription change owes is billed by the next invoice instead of being lost. A proration item's time is its
    /// period start, which becomes <see cref="Created"/> again.
    /// </summary>
    public static PendingInvoiceItem FromProrationLine(InvoiceLine line, string customerId, string currency)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Kind != InvoiceLineKind.Proration || line.PendingItemId is not { } id)
        {
            throw new ArgumentException("Only a proration line made from a pending item can become one again.", nameof(line));
        }

        return new PendingInvoiceItem
        {
            Id = id,
            CustomerId = customerId,
            Currency = currency,
            SubscriptionId = line.SubscriptionId,
            SubscriptionItemId = line.SubscriptionItemId,
            Kind = line.Kind,
            Description = line.Description,
            PeriodStart = line.PeriodStart,
            PeriodEnd = line.PeriodEnd,
            Quantity = line.Quantity,
            UnitAmount = line.UnitAmount,
            Amount = line.Amount,
            PriceId = line.PriceId,
            ProductId = line.ProductId,
            Discountable = line.Discountable,
            TaxRates = line.TaxRates,
            Created = line.PeriodStart,
        };
    }

    /// <summary>The invoice line carrying this item.</summary>
    public InvoiceLine ToLine() => new()
    {
        Id = InvoiceLine.NewId(Created),
        Kind = Kind,
        Description = Description,
        PeriodStart = PeriodStart,
        PeriodEnd = PeriodEnd,
        Quantity = Quantity,
        UnitAmount = UnitAmount,
        Amount = Amount,
        PriceId = PriceId,
        ProductId = ProductId,
        SubscriptionId = SubscriptionId,
        SubscriptionItemId = SubscriptionItemId,
        PendingItemId = Id,
        Discountable = Discountable,
        TaxRates = TaxRates,
    };
}

/// <summary>
/// One line of an invoice. <see cref="Amount"/> is the signed gross as priced (for inclusive taxes it contains the tax);
/// the calculator fills <see cref="DiscountAmounts"/>, <see cref="TaxAmounts"/> and the derived figures:
/// <c>NetAmount = Amount − Σ discounts</c>; <c>Total = NetAmount + Σ exclusive taxes</c>.
/// </summary>
public sealed record InvoiceLine
{
    public const string IdPrefix = "il";

    public required string Id { get; init; }

    public InvoiceLineKind Kind { get; init; }

    public required string Description { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    public DateTimeOffset PeriodEnd { get; init; }

    public long Quantity { get; init; } = 1;

    /// <summary>Per-unit amount of the price for a full period, for display; null for tiered prices.</summary>
    public long? UnitAmount { get; init; }

    /// <summary>Signed gross amount in minor units.</summary>
    public long Amount { get; init; }

    public string? PriceId { get; init; }

    public string? ProductId { get; init; }

    public string? SubscriptionId { get; init; }

    public string? SubscriptionItemId { get; init; }

    /// <summary>The pending invoice item this line consumed, if any.</summary>
    public string? PendingItemId { get; init; }

    public bool Proration => Kind == InvoiceLineKind.Proration;

    public bool Discountable { get; init; } = true;

    /// <summary>Rates to apply; null = the invoice's default rates.</summary>
    public IReadOnlyList<TaxRate>? TaxRates { get; init; }

    public IReadOnlyList<DiscountAmount> DiscountAmounts { get; init; } = [];

    public IReadOnlyList<TaxAmount> TaxAmounts { get; init; } = [];

    /// <summary><c>Amount − Σ DiscountAmounts</c>.</summary>
    public long NetAmount { get; init; }

    /// <summary><c>NetAmount + Σ exclusive TaxAmounts</c>: what this line adds to the invoice total.</summary>
    public long Total { get; init; }

    internal static string NewId(DateTimeOffset at) => Ids.New(IdPrefix, at);
}
