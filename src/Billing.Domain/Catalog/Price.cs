namespace Billing.Domain.Catalog;

/// <summary>How a price turns a quantity into an amount.</summary>
public enum BillingScheme
{
    /// <summary>One fixed amount per period (or once), whatever the quantity.</summary>
    Flat,

    /// <summary><c>unit_amount × quantity</c> (seats).</summary>
    PerUnit,

    /// <summary>Priced by tiers of quantity; see <see cref="TiersMode"/>.</summary>
    Tiered,
}

/// <summary>How tiers combine, as in Stripe.</summary>
public enum TiersMode
{
    /// <summary>Each unit is priced by the tier it falls in; a tier's flat amount is added when any unit falls in it.</summary>
    Graduated,

    /// <summary>All units are priced by the single tier the total quantity falls in, plus that tier's flat amount.</summary>
    Volume,
}

/// <summary>The unit of a recurring interval.</summary>
public enum IntervalUnit
{
    Day,
    Week,
    Month,
    Year,
}

/// <summary>A billing period length: <see cref="Count"/> × <see cref="Unit"/> (e.g. every 3 months).</summary>
public sealed record Recurrence(IntervalUnit Unit, int Count)
{
    /// <summary>Stripe's ceiling: an interval may not exceed three years.</summary>
    public static int MaxCount(IntervalUnit unit) => unit switch
    {
        IntervalUnit.Day => 1095,
        IntervalUnit.Week => 156,
        IntervalUnit.Month => 36,
        _ => 3,
    };
}

/// <summary>One tier: units up to and including <see cref="UpTo"/> (null = infinity) cost <see cref="UnitAmount"/> each plus <see cref="FlatAmount"/>.</summary>
public sealed record PriceTier(long? UpTo, long UnitAmount, long FlatAmount);

/// <summary>
/// What a product costs in one currency: scheme (flat, per unit, tiered graduated or volume), one-time or recurring
/// (interval × count), optional trial days. Amounts are immutable once created — a price in use is never changed;
/// create a new price and archive the old one. Only <see cref="Active"/>, <see cref="Nickname"/> and metadata change.
/// </summary>
public sealed record Price
{
    public const string IdPrefix = "price";

    /// <summary>Largest amount accepted in any single amount field, in minor units (Stripe allows 12 digits).</summary>
    public const long MaxAmount = 999_999_999_999;

    public required string Id { get; init; }

    public required string ProductId { get; init; }

    public required Currency Currency { get; init; }

    public BillingScheme Scheme { get; init; }

    public TiersMode? TiersMode { get; init; }

    /// <summary>For <see cref="BillingScheme.Flat"/> and <see cref="BillingScheme.PerUnit"/>: the amount in minor units.</summary>
    public long? UnitAmount { get; init; }

    public IReadOnlyList<PriceTier> Tiers { get; init; } = [];

    /// <summary>Null for a one-time price.</summary>
    public Recurrence? Recurring { get; init; }

    public int? TrialPeriodDays { get; init; }

    public string? Nickname { get; init; }

    public bool Active { get; init; } = true;

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public DateTimeOffset Created { get; init; }

    public bool IsRecurring => Recurring is not null;

    /// <summary>
    /// The amount for <paramref name="quantity"/> units for one period (or once): flat → unit amount; per unit →
    /// unit amount × quantity; graduated → Σ over tiers of (units in tier × tier unit amount + tier flat amount if
    /// any unit falls in it); volume → quantity × the unit amount of the tier holding the quantity + its flat amount.
    /// A quantity of zero costs nothing.
    /// </summary>
    public Money AmountFor(long quantity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quantity);
        if (quantity == 0)
        {
            return Money.Zero(Currency);
        }

        long minor = Scheme switch
        {
            BillingScheme.Flat => UnitAmount!.Value,
            BillingScheme.PerUnit => checked(UnitAmount!.Value * quantity),
            _ when TiersMode == Catalog.TiersMode.Volume => Volume(quantity),
            _ => Graduated(quantity),
        };
        return new Money(minor, Currency);
    }

    private long Graduated(long quantity)
    {
        long total = 0;
        long previousBound = 0;
        foreach (var tier in Tiers)
        {
            var bound = tier.UpTo ?? long.MaxValue;
            var unitsInTier = Math.Min(quantity, bound) - previousBound;
            if (unitsInTier <= 0)
            {
                break;
            }

            total = checked(total + (unitsInTier * tier.UnitAmount) + tier.FlatAmount);
            previousBound = bound;
        }

        return total;
    }

    private long Volume(long quantity)
    {
        var tier = Tiers.First(t => t.UpTo is null || quantity <= t.UpTo);
        return checked((quantity * tier.UnitAmount) + tier.FlatAmount);
    }

    /// <summary>Creates a price from validated input; throws <see cref="DomainValidationException"/> listing every bad field.</summary>
    public static Price Create(PriceInput input, string id, Product product, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(product);
        var errors = new ValidationErrors();
        errors.AddIf(!product.Active, "product", "The product is archived; unarchive it or use an active product.");
        Currency? currency = null;
        errors.AddIf(!Currency.TryFromCode(input.Currency, out currency), "currency", "Must be a supported ISO 4217 currency code.");
        errors.AddIf(input.Scheme is null, "billing_scheme", "Is required: flat, per_unit or tiered.");
        var tiers = input.Tiers ?? [];
        switch (input.Scheme)
        {
            case BillingScheme.Flat or BillingScheme.PerUnit:
                errors.AddIf(input.UnitAmount is null, "unit_amount", "Is required for this billing scheme.");
                errors.AddIf(input.UnitAmount is < 0 or > MaxAmount, "unit_amount", $"Must be between 0 and {MaxAmount}.");
                errors.AddIf(tiers.Count > 0, "tiers", "Only tiered prices have tiers.");
                errors.AddIf(input.TiersMode is not null, "tiers_mode", "Only tiered prices have a tiers mode.");
                if (currency is not null && input.UnitAmount is { } amount)
                {
                    errors.AddIf(currency.StripeRequiresMultipleOfTen && amount % 10 != 0, "unit_amount", $"{currency.Code} amounts must end in 0.");
                }

                break;
            case BillingScheme.Tiered:
                errors.AddIf(input.TiersMode is null, "tiers_mode", "Is required for tiered prices: graduated or volume.");
                errors.AddIf(input.UnitAmount is not null, "unit_amount", "Tiered prices take their amounts from tiers.");
                ValidateTiers(tiers, errors);
                break;
        }

        if (input.Recurring is { } recurring)
        {
            errors.AddIf(recurring.Count < 1 || recurring.Count > Recurrence.MaxCount(recurring.Unit), "recurring.interval_count",
                $"Must be between 1 and {Recurrence.MaxCount(recurring.Unit)} for '{recurring.Unit.ToString().ToLowerInvariant()}' (at most three years).");
        }

        errors.AddIf(input.TrialPeriodDays is not null && input.Recurring is null, "trial_period_days", "Only recurring prices can have a trial.");
        errors.AddIf(input.TrialPeriodDays is < 1 or > 730, "trial_period_days", "Must be between 1 and 730.");
        errors.AddIf(input.Nickname is { Length: > 250 }, "nickname", "Must be at most 250 characters.");
        Domain.Metadata.Validate(input.Metadata, errors);
        errors.ThrowIfAny();
        return new Price
        {
            Id = id,
            ProductId = product.Id,
            Currency = currency!,
            Scheme = input.Scheme!.Value,
            TiersMode = input.TiersMode,
            UnitAmount = input.UnitAmount,
            Tiers = tiers,
            Recurring = input.Recurring,
            TrialPeriodDays = input.TrialPeriodDays,
            Nickname = input.Nickname,
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            Created = now,
        };
    }

    private static void ValidateTiers(IReadOnlyList<PriceTier> tiers, ValidationErrors errors)
    {
        if (tiers.Count is < 1 or > 250)
        {
            errors.Add("tiers", "Tiered prices need between 1 and 250 tiers.");
            return;
        }

        long previous = 0;
        for (var i = 0; i < tiers.Count; i++)
        {
            var tier = tiers[i];
            var last = i == tiers.Count - 1;
            errors.AddIf(last && tier.UpTo is not null, $"tiers[{i}].up_to", "The last tier must be unbounded ('inf').");
            errors.AddIf(!last && tier.UpTo is null, $"tiers[{i}].up_to", "Only the last tier may be unbounded.");
            errors.AddIf(tier.UpTo is { } upTo && upTo <= previous, $"tiers[{i}].up_to", "Tier bounds must increase.");
            errors.AddIf(tier.UnitAmount is < 0 or > MaxAmount, $"tiers[{i}].unit_amount", $"Must be between 0 and {MaxAmount}.");
            errors.AddIf(tier.FlatAmount is < 0 or > MaxAmount, $"tiers[{i}].flat_amount", $"Must be between 0 and {MaxAmount}.");
            previous = tier.UpTo ?? previous;
        }
    }

    public Price Archive() => this with { Active = false };

    public Price Unarchive() => this with { Active = true };
}

/// <summary>What a merchant sends to create a price.</summary>
public sealed record PriceInput
{
    public string? Currency { get; init; }

    public BillingScheme? Scheme { get; init; }

    public TiersMode? TiersMode { get; init; }

    public long? UnitAmount { get; init; }

    public IReadOnlyList<PriceTier>? Tiers { get; init; }

    public Recurrence? Recurring { get; init; }

    public int? TrialPeriodDays { get; init; }

    public string? Nickname { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
