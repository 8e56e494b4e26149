using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Functions.Storage;

namespace Billing.Functions.Invoices;

/// <summary>A service period on the wire.</summary>
public sealed record PeriodResponse(DateTimeOffset Start, DateTimeOffset End);

/// <summary>Tax of one rate on the wire.</summary>
public sealed record TaxAmountResponse(string TaxRate, string DisplayName, decimal Percentage, bool Inclusive, long Amount, long TaxableAmount)
{
    public static TaxAmountResponse From(TaxAmount t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return new(t.TaxRateId, t.DisplayName, t.Percentage, t.Inclusive, t.Amount, t.TaxableAmount);
    }
}

/// <summary>A discount taken off a line.</summary>
public sealed record DiscountAmountResponse(string Discount, string Coupon, long Amount);

/// <summary>One invoice line on the wire.</summary>
public sealed record InvoiceLineResponse(
    string Id,
    string Type,
    string Description,
    PeriodResponse Period,
    long Quantity,
    long? UnitAmount,
    long Amount,
    bool Proration,
    bool Discountable,
    string? Price,
    string? Subscription,
    string? SubscriptionItem,
    string? InvoiceItem,
    IReadOnlyList<DiscountAmountResponse> DiscountAmounts,
    IReadOnlyList<TaxAmountResponse> TaxAmounts,
    long NetAmount,
    long Total)
{
    public static InvoiceLineResponse From(InvoiceLine l)
    {
        ArgumentNullException.ThrowIfNull(l);
        return new(l.Id, Domain.Subscriptions.Subscription.Wire(l.Kind), l.Description, new PeriodResponse(l.PeriodStart, l.PeriodEnd), l.Quantity, l.UnitAmount, l.Amount, l.Proration,
            l.Discountable, l.PriceId, l.SubscriptionId, l.SubscriptionItemId, l.PendingItemId,
            [.. l.DiscountAmounts.Select(d => new DiscountAmountResponse(d.DiscountId, d.CouponId, d.Amount))],
            [.. l.TaxAmounts.Select(TaxAmountResponse.From)], l.NetAmount, l.Total);
    }
}

/// <summary>The latest collection attempt of an invoice: its outcome and, for 3-D Secure, the client secret to finish it.</summary>
public sealed record PaymentResponse(int Attempt, string Status, string? PaymentId, string? ClientSecret, string? DeclineCode, DeclineClass? DeclineClass, string? Message,
    DateTimeOffset StartedAt, DateTimeOffset? CompletedAt)
{
    public static PaymentResponse? From(PaymentAttempt? a) => a is null ? null
        : new(a.Number, a.Status is { } s ? Domain.Subscriptions.Subscription.Wire(s) : "processing", a.PaymentId, a.ClientSecret, a.DeclineCode, a.DeclineClass, a.Message, a.StartedAt, a.CompletedAt);
}

/// <summary>A discount on the wire.</summary>
public sealed record DiscountResponse(string Id, string Coupon, decimal? PercentOff, long? AmountOff, string? Currency, CouponDuration Duration, DateTimeOffset Start, DateTimeOffset? End)
{
    public static DiscountResponse? From(Discount? d) => d is null ? null
        : new(d.Id, d.Coupon.Id, d.Coupon.PercentOff, d.Coupon.AmountOff, d.Coupon.Currency?.ToLowerInvariant(), d.Coupon.Duration, d.Start, d.End);
}

/// <summary>A deleted draft invoice on the wire (Stripe's deleted object).</summary>
public sealed record DeletedInvoiceResponse(string Id)
{
    public string Object => "invoice";

    public bool Deleted => true;
}

/// <summary>An invoice on the wire: money in minor units, lowercase currency, totals as Stripe names them.</summary>
public sealed record InvoiceResponse
{
    public string Object => "invoice";

    public required string Id { get; init; }

    public required string Customer { get; init; }

    public string? Subscription { get; init; }

    public required InvoiceStatus Status { get; init; }

    public string? Number { get; init; }

    public required string Currency { get; init; }

    public BillingReason BillingReason { get; init; }

    public CollectionMethod CollectionMethod { get; init; }

    public string? Description { get; init; }

    public string? Footer { get; init; }

    public int? DaysUntilDue { get; init; }

    public required IReadOnlyList<InvoiceLineResponse> Lines { get; init; }

    public long Subtotal { get; init; }

    public long TotalDiscount { get; init; }

    public long TotalTax { get; init; }

    public long TotalExclusiveTax { get; init; }

    public long TotalInclusiveTax { get; init; }

    public required IReadOnlyList<TaxAmountResponse> TotalTaxAmounts { get; init; }

    public long Total { get; init; }

    public long StartingBalance { get; init; }

    public long? EndingBalance { get; init; }

    public long AmountDue { get; init; }

    public long AmountPaid { get; init; }

    public long AmountRemaining { get; init; }

    public long PrePaymentCreditNotesAmount { get; init; }

    public long PostPaymentCreditNotesAmount { get; init; }

    /// <summary>Refunded (or on its way back) through refund credit notes.</summary>
    public long AmountRefunded { get; init; }

    public DiscountResponse? Discount { get; init; }

    public required IReadOnlyList<string> DefaultTaxRates { get; init; }

    public required PeriodResponse Period { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? FinalizedAt { get; init; }

    public DateTimeOffset? DueDate { get; init; }

    public DateTimeOffset? PaidAt { get; init; }

    public bool PaidOutOfBand { get; init; }

    public DateTimeOffset? VoidedAt { get; init; }

    public DateTimeOffset? MarkedUncollectibleAt { get; init; }

    /// <summary>Where the PDF is served once the invoice is finalized.</summary>
    public string? InvoicePdf { get; init; }

    public PaymentResponse? Payment { get; init; }

    /// <summary>The payment retries after a failed collection; null when the invoice is not in dunning (never was, or paid).</summary>
    public DunningResponse? Dunning { get; init; }

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    public static InvoiceResponse From(Invoice i, PaymentAttempt? attempt = null)
    {
        ArgumentNullException.ThrowIfNull(i);
        return new InvoiceResponse
        {
            Id = i.Id,
            Customer = i.CustomerId,
            Subscription = i.SubscriptionId,
            Status = i.Status,
            Number = i.Number,
            Currency = i.Currency.ToLowerInvariant(),
            BillingReason = i.BillingReason,
            CollectionMethod = i.CollectionMethod,
            Description = i.Description,
            Footer = i.Footer,
            DaysUntilDue = i.DaysUntilDue,
            Lines = [.. i.Lines.Select(InvoiceLineResponse.From)],
            Subtotal = i.Subtotal,
            TotalDiscount = i.TotalDiscount,
            TotalTax = i.TotalTax,
            TotalExclusiveTax = i.TotalExclusiveTax,
            TotalInclusiveTax = i.TotalInclusiveTax,
            TotalTaxAmounts = [.. i.TaxAmounts.Select(TaxAmountResponse.From)],
            Total = i.Total,
            StartingBalance = i.StartingBalance,
            EndingBalance = i.EndingBalance,
            AmountDue = i.Status == InvoiceStatus.Draft ? Math.Max(0, i.Total + i.StartingBalance) : i.AmountDue,
            AmountPaid = i.AmountPaid,
            AmountRemaining = i.Status == InvoiceStatus.Draft ? Math.Max(0, i.Total + i.StartingBalance) : i.AmountRemaining,
            PrePaymentCreditNotesAmount = i.PrePaymentCreditNotesAmount,
            PostPaymentCreditNotesAmount = i.PostPaymentCreditNotesAmount,
            AmountRefunded = i.RefundedAmount,
            Discount = DiscountResponse.From(i.AppliedDiscount),
            DefaultTaxRates = [.. i.DefaultTaxRates.Select(r => r.Id)],
            Period = new PeriodResponse(i.PeriodStart, i.PeriodEnd),
            Created = i.Created,
            FinalizedAt = i.FinalizedAt,
            DueDate = i.DueDate,
            PaidAt = i.PaidAt,
            PaidOutOfBand = i.PaidOutOfBand,
            VoidedAt = i.VoidedAt,
            MarkedUncollectibleAt = i.MarkedUncollectibleAt,
            InvoicePdf = i.Number is null ? null : $"/api/invoices/{i.Id}/pdf",
            Payment = PaymentResponse.From(attempt),
            Dunning = DunningResponse.From(i.Dunning),
            Metadata = i.Metadata,
        };
    }
}

/// <summary>
/// Dunning on the wire: <c>attempt</c> retries made of <c>of</c> planned, when the next one runs, the last decline and
/// the status (<c>scheduled</c>, <c>awaiting_customer</c>, <c>exhausted</c>, <c>stopped</c>).
/// </summary>
public sealed record DunningResponse(int Attempt, int Of, DateTimeOffset? NextAttemptAt, string? LastDeclineCode, DunningStatus Status, DateTimeOffset StartedAt, string? StoppedBy)
{
    /// <summary>Null when there is no dunning or it ended with a payment.</summary>
    public static DunningResponse? From(DunningState? d) =>
        d is null || d.Status == DunningStatus.Recovered ? null
            : new DunningResponse(d.Attempt, d.Of, d.NextAttemptAt, d.LastDeclineCode, d.Status, d.StartedAt, d.StoppedBy);
}

/// <summary>A credit note on the wire; <c>refund</c> only for outcome <c>refund</c>.</summary>
public sealed record CreditNoteResponse(string Id, string Number, string Invoice, string Customer, string Currency, long Amount, long TaxAmount, CreditNoteOutcome Outcome,
    CreditNoteStatus Status, bool PrePayment, CreditNoteReason? Reason, string? Memo, IReadOnlyList<CreditNoteLineResponse> Lines, CreditNoteRefundResponse? Refund,
    DateTimeOffset Created, DateTimeOffset? VoidedAt)
{
    public string Object => "credit_note";

    public static CreditNoteResponse From(CreditNote c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new(c.Id, c.Number, c.InvoiceId, c.CustomerId, c.Currency.ToLowerInvariant(), c.Amount, c.TaxAmount, c.Outcome, c.Status, c.PrePayment, c.Reason, c.Memo,
            [.. c.Lines.Select(l => new CreditNoteLineResponse(l.InvoiceLineId, l.Description, l.Amount, l.TaxAmount))],
            c.Refund is { } r ? new CreditNoteRefundResponse(r.Id, r.PaymentId, r.Amount, r.Status, r.GatewayRefundId, r.FailureReason) : null,
            c.Created, c.VoidedAt);
    }
}

/// <summary>The refund of a refund credit note: our refund and payment ids (see <c>/api/payments/{payment}/refunds</c>), amount and status.</summary>
public sealed record CreditNoteRefundResponse(string Id, string Payment, long Amount, Domain.Payments.RefundStatus Status, string? StripeRefundId, string? FailureReason);

/// <summary>A credited line on the wire.</summary>
public sealed record CreditNoteLineResponse(string? InvoiceLine, string Description, long Amount, long TaxAmount);

/// <summary>A coupon on the wire.</summary>
public sealed record CouponResponse(string Id, string? Name, decimal? PercentOff, long? AmountOff, string? Currency, CouponDuration Duration, int? DurationInMonths,
    int? MaxRedemptions, int TimesRedeemed, DateTimeOffset? RedeemBy, DateTimeOffset Created)
{
    public string Object => "coupon";

    public static CouponResponse From(Coupon c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new(c.Id, c.Name, c.PercentOff, c.AmountOff, c.Currency?.ToLowerInvariant(), c.Duration, c.DurationInMonths, c.MaxRedemptions, c.TimesRedeemed, c.RedeemBy, c.Created);
    }
}

/// <summary>A tax rate on the wire.</summary>
public sealed record TaxRateResponse(string Id, string DisplayName, decimal Percentage, bool Inclusive, string? Jurisdiction, bool Active, DateTimeOffset Created)
{
    public string Object => "tax_rate";

    public static TaxRateResponse From(TaxRate t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return new(t.Id, t.DisplayName, t.Percentage, t.Inclusive, t.Jurisdiction, t.Active, t.Created);
    }
}
