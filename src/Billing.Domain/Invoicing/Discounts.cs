using Billing.Domain.Subscriptions;

namespace Billing.Domain.Invoicing;

/// <summary>How long a coupon keeps discounting once applied (Stripe's <c>duration</c>).</summary>
public enum CouponDuration
{
    /// <summary>The first invoice only.</summary>
    Once,

    /// <summary>Invoices created within <c>duration_in_months</c> calendar months of the discount's start.</summary>
    Repeating,

    /// <summary>Every invoice while the discount is attached.</summary>
    Forever,
}

/// <summary>
/// A reusable discount definition: <c>percent_off</c> (0 &lt; p ≤ 100) or <c>amount_off</c> in one currency, and a
/// duration. Applying it to a customer or subscription makes a <see cref="Discount"/>.
/// </summary>
public sealed record Coupon
{
    public required string Id { get; init; }

    public string? Name { get; init; }

    public decimal? PercentOff { get; init; }

    /// <summary>Fixed amount off each invoice, in minor units of <see cref="Currency"/>.</summary>
    public long? AmountOff { get; init; }

    public string? Currency { get; init; }

    public CouponDuration Duration { get; init; }

    public int? DurationInMonths { get; init; }

    public int? MaxRedemptions { get; init; }

    public int TimesRedeemed { get; init; }

    public DateTimeOffset? RedeemBy { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>Creates a validated coupon; exactly one of percent_off and amount_off (+ currency) is required.</summary>
    public static Coupon Create(string id, string? name, decimal? percentOff, long? amountOff, string? currency, CouponDuration duration,
        int? durationInMonths, DateTimeOffset now, int? maxRedemptions = null, DateTimeOffset? redeemBy = null)
    {
        var errors = new ValidationErrors();
        errors.AddIf(percentOff is null == amountOff is null, "percent_off", "Exactly one of percent_off and amount_off is required.");
        errors.AddIf(percentOff is <= 0 or > 100, "percent_off", "Must be greater than 0 and at most 100.");
        errors.AddIf(amountOff is <= 0, "amount_off", "Must be positive.");
        Currency? parsed = null;
        errors.AddIf(amountOff is not null && !Domain.Currency.TryFromCode(currency, out parsed), "currency", "Is required with amount_off: a supported ISO 4217 code.");
        errors.AddIf(amountOff is null && currency is not null, "currency", "Only an amount_off coupon has a currency.");
        errors.AddIf(duration == CouponDuration.Repeating && durationInMonths is null or < 1 or > 120, "duration_in_months", "Repeating coupons need 1 to 120 months.");
        errors.AddIf(duration != CouponDuration.Repeating && durationInMonths is not null, "duration_in_months", "Only repeating coupons have a duration in months.");
        errors.AddIf(maxRedemptions is < 1, "max_redemptions", "Must be positive.");
        errors.AddIf(redeemBy is { } by && (by <= now || by > now.AddYears(5)), "redeem_by", "Must be in the future and at most five years ahead.");
        errors.ThrowIfAny();
        return new Coupon
        {
            Id = id,
            Name = name,
            PercentOff = percentOff,
            AmountOff = amountOff,
            Currency = parsed?.Code,
            Duration = duration,
            DurationInMonths = durationInMonths,
            MaxRedemptions = maxRedemptions,
            RedeemBy = redeemBy,
            Created = now,
        };
    }

    /// <summary>The coupon with one redemption given back (a reserved redemption whose discount never reached its target).</summary>
    public Coupon WithRedemptionReturned() => this with { TimesRedeemed = Math.Max(0, TimesRedeemed - 1) };

    /// <summary>Throws <see cref="InvalidStateException"/> when the coupon can no longer be redeemed.</summary>
    public void EnsureRedeemable(DateTimeOffset now)
    {
        if (MaxRedemptions is { } max && TimesRedeemed >= max)
        {
            throw new InvalidStateException($"Coupon '{Id}' reached its maximum redemptions.", "coupon_expired");
        }

        if (RedeemBy is { } by && now > by)
        {
            throw new InvalidStateException($"Coupon '{Id}' could only be redeemed until {by:O}.", "coupon_expired");
        }
    }
}

/// <summary>
/// A coupon applied to a customer (every invoice) or a subscription (its invoices; takes precedence over the
/// customer's), with redemption tracking: <c>once</c> applies to exactly one invoice
/// (<see cref="InvoicesApplied"/> = 0 → 1); <c>repeating</c> applies to invoices created before
/// <c>End = Start + duration_in_months</c> (months clamped like billing periods); <c>forever</c> has no end.
/// </summary>
public sealed record Discount
{
    public const string IdPrefix = "di";

    public required string Id { get; init; }

    public required Coupon Coupon { get; init; }

    public required string CustomerId { get; init; }

    public string? SubscriptionId { get; init; }

    public DateTimeOffset Start { get; init; }

    /// <summary>Exclusive end for repeating coupons; null otherwise.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>How many invoices this discount has reduced so far.</summary>
    public int InvoicesApplied { get; init; }

    public IReadOnlyList<string> InvoiceIds { get; init; } = [];

    /// <summary>Applies <paramref name="coupon"/>; returns the discount and the coupon with its redemption counted.</summary>
    public static (Discount Discount, Coupon Coupon) Apply(Coupon coupon, string customerId, string? subscriptionId, string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(coupon);
        coupon.EnsureRedeemable(now);
        var discount = new Discount
        {
            Id = id,
            Coupon = coupon,
            CustomerId = customerId,
            SubscriptionId = subscriptionId,
            Start = now,
            End = coupon.Duration == CouponDuration.Repeating ? BillingPeriods.AddMonthsClamped(now, coupon.DurationInMonths!.Value) : null,
        };
        return (discount, coupon with { TimesRedeemed = coupon.TimesRedeemed + 1 });
    }

    /// <summary>True when this discount reduces an invoice in <paramref name="currency"/> created at <paramref name="invoiceDate"/>.</summary>
    public bool AppliesTo(string currency, DateTimeOffset invoiceDate)
    {
        if (Coupon.AmountOff is not null && !string.Equals(Coupon.Currency, currency, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return invoiceDate >= Start && Coupon.Duration switch
        {
            CouponDuration.Once => InvoicesApplied == 0,
            CouponDuration.Repeating => invoiceDate < End,
            _ => true,
        };
    }

    /// <summary>True once the discount can never apply again (a used <c>once</c>, or a <c>repeating</c> past its end).</summary>
    public bool IsExhausted(DateTimeOffset now) => Coupon.Duration switch
    {
        CouponDuration.Once => InvoicesApplied > 0,
        CouponDuration.Repeating => now >= End,
        _ => false,
    };

    /// <summary>Records that invoice <paramref name="invoiceId"/> used this discount.</summary>
    public Discount RecordApplied(string invoiceId) =>
        this with { InvoicesApplied = InvoicesApplied + 1, InvoiceIds = [.. InvoiceIds, invoiceId] };

    /// <summary>
    /// Gives back the use by draft <paramref name="invoiceId"/> (deleted, or given another discount), so a <c>once</c>
    /// discount can reduce the next invoice; the same instance when that invoice never used it.
    /// </summary>
    public Discount ReleaseInvoice(string invoiceId) =>
        InvoiceIds.Contains(invoiceId, StringComparer.Ordinal)
            ? this with { InvoicesApplied = Math.Max(0, InvoicesApplied - 1), InvoiceIds = [.. InvoiceIds.Where(i => !string.Equals(i, invoiceId, StringComparison.Ordinal))] }
            : this;
}

/// <summary>Where a coupon redemption stands.</summary>
public enum RedemptionStatus
{
    /// <summary>Counted on the coupon; its discount is being saved on the target (or never was, if the writer stopped).</summary>
    Reserved,

    /// <summary>The discount reached its target: the redemption is final.</summary>
    Applied,
}

/// <summary>
/// One redemption of a coupon by one target (a customer, a subscription or an invoice). It is counted in
/// <see cref="Coupon.TimesRedeemed"/> from the moment it is reserved, together with the count, so the count always
/// equals the number of redemptions and <c>max_redemptions</c> can never be passed; it becomes
/// <see cref="RedemptionStatus.Applied"/> once the discount is saved on the target, and is removed with the count
/// lowered when the discount never got there. A target redeems a coupon at most once.
/// </summary>
public sealed record CouponRedemption
{
    public required string CouponId { get; init; }

    public required string CustomerId { get; init; }

    /// <summary>The customer, subscription or invoice the discount is for.</summary>
    public required string TargetId { get; init; }

    /// <summary>The discount made by this redemption, as it was applied.</summary>
    public required Discount Discount { get; init; }

    public RedemptionStatus Status { get; init; }

    /// <summary>When it was reserved (or last taken over by a retry of the same request).</summary>
    public DateTimeOffset ReservedAt { get; init; }
}

/// <summary>The part of one discount taken off one line (positive minor units).</summary>
public sealed record DiscountAmount(string DiscountId, string CouponId, long Amount);
