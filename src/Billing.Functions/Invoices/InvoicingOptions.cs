using System.ComponentModel.DataAnnotations;

namespace Billing.Functions.Invoices;

/// <summary>Invoice numbering and the seller printed on invoice PDFs (section <c>Invoicing</c>).</summary>
public sealed class InvoicingOptions
{
    public const string Section = "Invoicing";

    /// <summary><c>per_customer</c> (default: <c>{CUSTOMER_PREFIX}-0001</c>) or <c>account</c> (<c>INV-{yyyy}-000001</c>, gapless account-wide).</summary>
    [RegularExpression("^(per_customer|account)$")]
    public string Numbering { get; set; } = "per_customer";

    /// <summary>Prefix of account-wide numbers.</summary>
    [RegularExpression("^[A-Z0-9]{1,12}$")]
    public string AccountNumberPrefix { get; set; } = "INV";

    [Required]
    [StringLength(200, MinimumLength = 1)]
    public string SellerName { get; set; } = "Billing";

    /// <summary>Address lines separated by <c>\n</c> or <c>;</c>.</summary>
    [StringLength(1000)]
    public string? SellerAddress { get; set; }

    [StringLength(100)]
    public string? SellerTaxId { get; set; }

    [StringLength(320)]
    public string? SellerEmail { get; set; }

    public bool IsAccountWide() => Numbering == "account";
}
