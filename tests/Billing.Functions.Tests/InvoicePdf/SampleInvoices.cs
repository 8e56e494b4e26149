using System.Globalization;
using Billing.Domain;
using Billing.Functions.InvoicePdf;

namespace Billing.Functions.Tests.InvoicePdf;

/// <summary>Invoice documents for the renderer tests (and for eyeballing: see <see cref="InvoicePdfRendererTests"/>).</summary>
internal static class SampleInvoices
{
    internal static readonly DateTimeOffset GeneratedAt = new(2025, 3, 1, 9, 30, 0, TimeSpan.Zero);

    internal static InvoiceDocument Usd(string buyerName = "Zoë Müller-Østergård", int lineCount = 3, InvoiceDocumentStatus status = InvoiceDocumentStatus.Open)
    {
        var usd = Currency.USD;
        var lines = Enumerable.Range(1, lineCount).Select(i => new InvoiceDocumentLine
        {
            Description = i % 7 == 0
                ? $"Line {i}: Enterprise plan seats, including priority support, single sign-on, audit log retention for 400 days and a dedicated success manager"
                : $"Line {i}: Pro plan",
            Period = new InvoicePeriod(new DateOnly(2025, 2, 1), new DateOnly(2025, 2, 28)),
            Quantity = i,
            UnitAmount = new Money(1_999, usd),
            Amount = new Money(1_999L * i, usd),
            TaxRateLabel = i % 3 == 0 ? "VAT 20% (exclusive)" : null,
        }).ToList();
        var subtotal = new Money(lines.Sum(l => l.Amount.MinorUnits), usd);
        var discount = new Money(1_000, usd);
        var tax = new Money((subtotal.MinorUnits - 1_000) / 5, usd);
        var total = subtotal - discount + tax;
        var credit = new Money(500, usd);
        var due = total - credit;
        var paid = status == InvoiceDocumentStatus.Paid ? due : Money.Zero(usd);
        return new InvoiceDocument
        {
            Number = "INV-2025-000123",
            Status = status,
            Seller = new InvoiceSeller
            {
                Name = "Northwind Billing Ltd",
                AddressLines = ["1 Market Street", "London EC1A 1AA", "United Kingdom"],
                TaxId = "VAT GB123456789",
                Email = "billing@northwind.example",
            },
            Buyer = new InvoiceBuyer
            {
                Name = buyerName,
                Email = "accounts@customer.example",
                AddressLines = ["Hauptstraße 5", "10115 Berlin", "Germany"],
                TaxIds = ["EU VAT DE123456789"],
            },
            IssueDate = new DateOnly(2025, 3, 1),
            DueDate = new DateOnly(2025, 3, 31),
            PaidAt = status == InvoiceDocumentStatus.Paid ? new DateTimeOffset(2025, 3, 3, 12, 0, 0, TimeSpan.Zero) : null,
            Period = new InvoicePeriod(new DateOnly(2025, 2, 1), new DateOnly(2025, 2, 28)),
            Currency = usd,
            Lines = lines,
            Discounts = [new InvoiceDiscountLine("Loyalty discount (LOYAL10)", discount)],
            TaxLines = [new InvoiceTaxLine("VAT 20% (exclusive)", tax)],
            Subtotal = subtotal,
            TotalDiscount = discount,
            TotalTax = tax,
            Total = total,
            CreditApplied = credit,
            AmountDue = due,
            AmountPaid = paid,
            AmountRemaining = due - paid,
            Memo = "Thank you for your business.",
            Footer = "Pay by bank transfer to IBAN GB00 NWBK 0000 0000 0000 00, quoting the invoice number.",
            GeneratedAt = GeneratedAt,
        };
    }

    /// <summary>A one-line invoice in <paramref name="currency"/> whose total is 1234.567 major units rounded to the currency.</summary>
    internal static InvoiceDocument InCurrency(Currency currency, long totalMinor, string culture = "en-US")
    {
        var amount = new Money(totalMinor, currency);
        var zero = Money.Zero(currency);
        return new InvoiceDocument
        {
            Number = "INV-FX-1",
            Status = InvoiceDocumentStatus.Open,
            Seller = new InvoiceSeller { Name = "Northwind Billing Ltd" },
            Buyer = new InvoiceBuyer { Name = "山田太郎" },
            IssueDate = new DateOnly(2025, 3, 1),
            DueDate = new DateOnly(2025, 3, 31),
            Currency = currency,
            Lines = [new InvoiceDocumentLine { Description = "Consulting", Quantity = 1, UnitAmount = amount, Amount = amount }],
            Subtotal = amount,
            Total = amount,
            AmountDue = amount,
            AmountPaid = zero,
            AmountRemaining = amount,
            Culture = CultureInfo.GetCultureInfo(culture),
            GeneratedAt = GeneratedAt,
        };
    }
}
