using System.Globalization;
using Billing.Domain;

namespace Billing.Functions.InvoicePdf;

/// <summary>Lifecycle state printed on the invoice (badge and payment sentence).</summary>
public enum InvoiceDocumentStatus
{
    Draft,
    Open,
    Paid,
    Void,
    Uncollectible,
}

/// <summary>An inclusive date range printed as "start – end".</summary>
public sealed record InvoicePeriod(DateOnly Start, DateOnly End);

/// <summary>The issuer of the invoice.</summary>
public sealed record InvoiceSeller
{
    public required string Name { get; init; }

    public IReadOnlyList<string> AddressLines { get; init; } = [];

    /// <summary>Seller's tax id as it must be printed, e.g. "VAT GB123456789".</summary>
    public string? TaxId { get; init; }

    public string? Email { get; init; }
}

/// <summary>The customer billed by the invoice.</summary>
public sealed record InvoiceBuyer
{
    public required string Name { get; init; }

    public string? Email { get; init; }

    public IReadOnlyList<string> AddressLines { get; init; } = [];

    /// <summary>Customer tax ids as they must be printed, e.g. "EU VAT DE123456789".</summary>
    public IReadOnlyList<string> TaxIds { get; init; } = [];
}

/// <summary>One row of the line table.</summary>
public sealed record InvoiceDocumentLine
{
    /// <summary>Free text; wrapped over as many lines as needed.</summary>
    public required string Description { get; init; }

    /// <summary>Service period of the line, or <c>null</c> for one-off items.</summary>
    public InvoicePeriod? Period { get; init; }

    /// <summary>Quantity, or <c>null</c> when a quantity makes no sense (adjustments).</summary>
    public decimal? Quantity { get; init; }

    /// <summary>Unit price, or <c>null</c> when the line has no single unit price (tiered, prorated).</summary>
    public Money? UnitAmount { get; init; }

    /// <summary>Line amount as billed (before invoice-level discounts and exclusive tax).</summary>
    public required Money Amount { get; init; }

    /// <summary>Optional tax rate label shown under the description, e.g. "VAT 20%".</summary>
    public string? TaxRateLabel { get; init; }
}

/// <summary>A discount row of the totals block. <see cref="Amount"/> is the reduction as a positive amount; it is printed with a minus sign.</summary>
public sealed record InvoiceDiscountLine(string Label, Money Amount);

/// <summary>A tax row of the totals block, e.g. ("VAT 20% (inclusive)", €16.67).</summary>
public sealed record InvoiceTaxLine(string Label, Money Amount);

/// <summary>
/// Everything the invoice PDF shows, already computed: the renderer does no arithmetic on amounts, it only
/// lays them out. Independent of the domain invoice so that billing rules and presentation evolve separately.
/// </summary>
public sealed record InvoiceDocument
{
    /// <summary>Invoice number, e.g. "INV-2025-000123".</summary>
    public required string Number { get; init; }

    public required InvoiceDocumentStatus Status { get; init; }

    public required InvoiceSeller Seller { get; init; }

    public required InvoiceBuyer Buyer { get; init; }

    public required DateOnly IssueDate { get; init; }

    public DateOnly? DueDate { get; init; }

    /// <summary>When the invoice was paid; the date is printed in this value's own offset.</summary>
    public DateTimeOffset? PaidAt { get; init; }

    /// <summary>Billing period of the invoice as a whole.</summary>
    public InvoicePeriod? Period { get; init; }

    public required Currency Currency { get; init; }

    public IReadOnlyList<InvoiceDocumentLine> Lines { get; init; } = [];

    public IReadOnlyList<InvoiceDiscountLine> Discounts { get; init; } = [];

    public IReadOnlyList<InvoiceTaxLine> TaxLines { get; init; } = [];

    public required Money Subtotal { get; init; }

    /// <summary>Sum of discounts as a positive amount; printed as one "Discount" row when <see cref="Discounts"/> is empty.</summary>
    public Money? TotalDiscount { get; init; }

    /// <summary>Sum of taxes; printed as one "Tax" row when <see cref="TaxLines"/> is empty.</summary>
    public Money? TotalTax { get; init; }

    public required Money Total { get; init; }

    /// <summary>Customer credit balance applied to this invoice, as a positive amount.</summary>
    public Money? CreditApplied { get; init; }

    /// <summary>Amount due after credits (<see cref="Total"/> − <see cref="CreditApplied"/>).</summary>
    public required Money AmountDue { get; init; }

    public Money? AmountPaid { get; init; }

    /// <summary>What is still owed (<see cref="AmountDue"/> − <see cref="AmountPaid"/>).</summary>
    public required Money AmountRemaining { get; init; }

    /// <summary>Note printed above the line table.</summary>
    public string? Memo { get; init; }

    /// <summary>Text printed after the totals (payment instructions, legal mentions).</summary>
    public string? Footer { get; init; }

    /// <summary>Culture for amounts, quantities and dates (labels stay English). Defaults to en-US.</summary>
    public CultureInfo Culture { get; init; } = CultureInfo.GetCultureInfo("en-US");

    /// <summary>
    /// Fixed timestamp written as the PDF creation and modification date. Part of the document so that the same
    /// invoice always renders to the same bytes; never taken from the clock by the renderer.
    /// </summary>
    public required DateTimeOffset GeneratedAt { get; init; }
}
