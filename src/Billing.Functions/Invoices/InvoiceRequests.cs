using Billing.Domain.Invoicing;

namespace Billing.Functions.Invoices;

/// <summary>A one-off item of a standalone invoice: <c>amount = unit_amount × quantity</c> (negative for a credit).</summary>
public sealed record InvoiceItemRequest(string? Description, long? UnitAmount, long? Quantity, IReadOnlyList<string>? TaxRates, bool? Discountable);

/// <summary>Body of <c>POST /api/invoices</c>: a draft with one-off items, plus the customer's pending items in that currency.</summary>
public sealed record InvoiceCreateRequest
{
    public string? Customer { get; init; }

    public string? Currency { get; init; }

    public IReadOnlyList<InvoiceItemRequest>? Items { get; init; }

    /// <summary>Also bill the customer's pending items (e.g. prorations) in this currency (default true).</summary>
    public bool? IncludePendingItems { get; init; }

    public IReadOnlyList<string>? DefaultTaxRates { get; init; }

    public string? Coupon { get; init; }

    public CollectionMethod? CollectionMethod { get; init; }

    public int? DaysUntilDue { get; init; }

    public string? Description { get; init; }

    /// <summary>Text printed after the totals of the PDF (payment instructions, legal mentions).</summary>
    public string? Footer { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Body of <c>PATCH /api/invoices/{id}</c> (drafts only). A field left out is unchanged; an empty <c>description</c>,
/// <c>footer</c> or <c>coupon</c> removes it; <c>default_tax_rates</c> replaces the list; metadata merges.
/// </summary>
public sealed record InvoiceUpdateRequest
{
    public string? Description { get; init; }

    public string? Footer { get; init; }

    public CollectionMethod? CollectionMethod { get; init; }

    /// <summary>For <c>send_invoice</c>: due this many days after finalization (0 to 730).</summary>
    public int? DaysUntilDue { get; init; }

    /// <summary>For <c>send_invoice</c>: an explicit due date (instead of <c>days_until_due</c>).</summary>
    public DateTimeOffset? DueDate { get; init; }

    /// <summary>A coupon redeemed for this invoice, which then wins over the customer's or subscription's discount; "" for no discount at all.</summary>
    public string? Coupon { get; init; }

    public IReadOnlyList<string>? DefaultTaxRates { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>Body of <c>POST /api/invoices/{id}/lines</c>: one-off lines to add to a draft.</summary>
public sealed record InvoiceLinesRequest(IReadOnlyList<InvoiceItemRequest>? Lines);

/// <summary>Body of <c>POST /api/customers/{id}/discount</c>.</summary>
public sealed record CustomerDiscountRequest(string? Coupon);

/// <summary>Body of <c>POST /api/invoices/{id}/pay</c>.</summary>
public sealed record InvoicePayRequest(bool? PaidOutOfBand);

/// <summary>A credited line of <c>POST /api/credit-notes</c>.</summary>
public sealed record CreditNoteLineRequest(string? InvoiceLine, long? Amount, string? Description);

/// <summary>Body of <c>POST /api/credit-notes</c>: either lines or an amount.</summary>
public sealed record CreditNoteCreateRequest
{
    public string? Invoice { get; init; }

    public long? Amount { get; init; }

    public IReadOnlyList<CreditNoteLineRequest>? Lines { get; init; }

    /// <summary>Default: <c>reduce_amount_due</c> for unpaid invoices, <c>credit_balance</c> for paid ones.</summary>
    public CreditNoteOutcome? Outcome { get; init; }

    public CreditNoteReason? Reason { get; init; }

    public string? Memo { get; init; }
}

/// <summary>Body of <c>POST /api/coupons</c>.</summary>
public sealed record CouponCreateRequest
{
    public string? Id { get; init; }

    public string? Name { get; init; }

    public decimal? PercentOff { get; init; }

    public long? AmountOff { get; init; }

    public string? Currency { get; init; }

    public CouponDuration? Duration { get; init; }

    public int? DurationInMonths { get; init; }

    public int? MaxRedemptions { get; init; }

    public DateTimeOffset? RedeemBy { get; init; }
}

/// <summary>Body of <c>POST /api/tax-rates</c>.</summary>
public sealed record TaxRateCreateRequest(string? DisplayName, decimal? Percentage, bool? Inclusive, string? Jurisdiction);
