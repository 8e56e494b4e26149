using Billing.Domain;
using Billing.Functions.InvoicePdf;
using UglyToad.PdfPig;

namespace Billing.Functions.Tests.InvoicePdf;

public sealed class InvoicePdfRendererTests
{
    private static readonly InvoicePdfRenderer Renderer = new();

    [Fact]
    public void Renders_a_valid_pdf_with_number_and_totals_extractable()
    {
        var document = SampleInvoices.Usd();

        var bytes = Renderer.Render(document);

        Assert.StartsWith("%PDF-", System.Text.Encoding.ASCII.GetString(bytes, 0, 8), StringComparison.Ordinal);
        using var pdf = PdfDocument.Open(bytes);
        Assert.Equal(1, pdf.NumberOfPages);
        var text = PageText(pdf, 1);
        Assert.Contains("INV-2025-000123", text, StringComparison.Ordinal);
        Assert.Contains("Northwind Billing Ltd", text, StringComparison.Ordinal);
        Assert.Contains("Subtotal" + document.Subtotal.Format(), text, StringComparison.Ordinal);
        Assert.Contains("Total" + document.Total.Format(), text, StringComparison.Ordinal);
        Assert.Contains("Amount due" + document.AmountDue.Format(), text, StringComparison.Ordinal);
        Assert.Contains("Credit applied-$5.00", text, StringComparison.Ordinal);
        Assert.Contains("Loyalty discount (LOYAL10)-$10.00", text, StringComparison.Ordinal);
        Assert.Contains("VAT 20% (exclusive)" + document.TotalTax!.Value.Format(), text, StringComparison.Ordinal);
        Assert.Contains("Page 1 of 1", text, StringComparison.Ordinal);
        Assert.Contains("OPEN", text, StringComparison.Ordinal);
        Assert.Equal("Invoice INV-2025-000123", pdf.Information.Title);
    }

    [Theory]
    [InlineData("Zoë Müller-Østergård")]
    [InlineData("Αθηνά Παπαδοπούλου")]
    [InlineData("Иван Петров")]
    [InlineData("山田太郎")]
    [InlineData("김민준")]
    [InlineData("Acme 山田太郎 김민준 ООО")]
    [InlineData("Affine Office Supplies finance")]
    public void Buyer_name_in_any_script_is_extracted_exactly(string name)
    {
        var bytes = Renderer.Render(SampleInvoices.Usd(buyerName: name));

        using var pdf = PdfDocument.Open(bytes);
        Assert.Contains(name, PageText(pdf, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void One_page_invoice_with_cjk_text_is_well_under_100_kb()
    {
        var bytes = Renderer.Render(SampleInvoices.Usd(buyerName: "山田太郎 / 김민준 / Αθηνά / Иван"));

        using var pdf = PdfDocument.Open(bytes);
        Assert.Equal(1, pdf.NumberOfPages);
        Assert.True(bytes.Length < 100 * 1024, $"PDF is {bytes.Length} bytes");
    }

    [Fact]
    public void Long_invoice_breaks_across_pages_with_header_and_page_numbers_on_each()
    {
        var document = SampleInvoices.Usd(lineCount: 120);

        using var pdf = PdfDocument.Open(Renderer.Render(document));

        var pageCount = pdf.NumberOfPages;
        Assert.InRange(pageCount, 4, 8);
        for (var number = 1; number <= pageCount; number++)
        {
            var text = PageText(pdf, number);
            Assert.Contains($"Page {number} of {pageCount}", text, StringComparison.Ordinal);
            Assert.Contains("DescriptionPeriodQtyUnit priceAmount", text, StringComparison.Ordinal);
            Assert.Contains("INV-2025-000123", text, StringComparison.Ordinal);
        }

        var all = string.Concat(Enumerable.Range(1, pageCount).Select(n => PageText(pdf, n)));
        for (var line = 1; line <= 120; line++)
        {
            Assert.Contains($"Line {line}:", all, StringComparison.Ordinal);
        }

        // Wrapped long descriptions keep every word, and the totals come last.
        Assert.Contains("dedicated success manager", all, StringComparison.Ordinal);
        Assert.Contains("Amount due" + document.AmountDue.Format(), PageText(pdf, pageCount), StringComparison.Ordinal);
    }

    [Fact]
    public void Same_document_renders_to_the_same_bytes()
    {
        var document = SampleInvoices.Usd(buyerName: "山田太郎", lineCount: 40);

        var first = Renderer.Render(document);
        var second = new InvoicePdfRenderer().Render(document with { });
        var parallel = Enumerable.Range(0, 4).AsParallel().Select(_ => Renderer.Render(document)).ToList();

        Assert.Equal(first, second);
        Assert.All(parallel, bytes => Assert.Equal(first, bytes));
        Assert.NotEqual(first, Renderer.Render(document with { GeneratedAt = document.GeneratedAt.AddDays(1) }));
    }

    [Fact]
    public void Creation_date_is_the_documents_generated_at()
    {
        using var pdf = PdfDocument.Open(Renderer.Render(SampleInvoices.Usd()));

        Assert.Equal("D:20250301093000+00'00'", pdf.Information.CreationDate);
    }

    [Theory]
    [InlineData("JPY", 1_235, "¥1,235")]
    [InlineData("KWD", 1_234_567, "KWD 1,234.567")]
    [InlineData("EUR", 123_456, "€1,234.56")]
    public void Amounts_use_the_currency_exponent(string code, long minor, string expected)
    {
        var document = SampleInvoices.InCurrency(Currency.FromCode(code), minor);

        using var pdf = PdfDocument.Open(Renderer.Render(document));

        var text = PageText(pdf, 1);
        Assert.Contains("Total" + expected, text, StringComparison.Ordinal);
        Assert.Contains(expected + " due March 31, 2025", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Amounts_and_dates_follow_the_documents_culture()
    {
        var document = SampleInvoices.InCurrency(Currency.EUR, 123_456, "de-DE");

        using var pdf = PdfDocument.Open(Renderer.Render(document));

        var text = PageText(pdf, 1);
        Assert.Contains("1.234,56 €", text, StringComparison.Ordinal);
        Assert.Contains("31. März 2025", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(InvoiceDocumentStatus.Paid, "PAID")]
    [InlineData(InvoiceDocumentStatus.Void, "VOID")]
    [InlineData(InvoiceDocumentStatus.Draft, "DRAFT")]
    [InlineData(InvoiceDocumentStatus.Uncollectible, "UNCOLLECTIBLE")]
    public void Status_badge_is_printed(InvoiceDocumentStatus status, string badge)
    {
        using var pdf = PdfDocument.Open(Renderer.Render(SampleInvoices.Usd(status: status)));

        Assert.Contains(badge, PageText(pdf, 1), StringComparison.Ordinal);
    }

    [Fact]
    public void Paid_invoice_shows_payment_and_nothing_remaining()
    {
        var document = SampleInvoices.Usd(status: InvoiceDocumentStatus.Paid);

        using var pdf = PdfDocument.Open(Renderer.Render(document));

        var text = PageText(pdf, 1);
        Assert.Contains($"Paid {document.AmountPaid!.Value.Format()} on March 3, 2025", text, StringComparison.Ordinal);
        Assert.Contains("Amount remaining$0.00", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_overload_writes_the_same_bytes()
    {
        var document = SampleInvoices.Usd();
        using var stream = new MemoryStream();

        Renderer.Render(document, stream);

        Assert.Equal(Renderer.Render(document), stream.ToArray());
    }

    [Fact]
    public void Amount_in_another_currency_is_rejected()
    {
        var document = SampleInvoices.Usd() with { Total = new Money(100, Currency.EUR) };

        var error = Assert.Throws<ArgumentException>(() => Renderer.Render(document));
        Assert.Contains("EUR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_unbreakable_text_and_empty_lists_still_render()
    {
        var document = SampleInvoices.Usd() with
        {
            Buyer = new InvoiceBuyer { Name = "Zeta", Email = "a-very-long-mailbox-name-without-any-break-opportunity@an-extremely-long-customer-domain.example" },
            Lines = [],
            Discounts = [],
            TaxLines = [],
            Memo = null,
            Footer = null,
        };

        using var pdf = PdfDocument.Open(Renderer.Render(document));

        var text = PageText(pdf, 1);
        Assert.Contains("No line items", text, StringComparison.Ordinal);
        Assert.Contains("an-extremely-long-customer-domain.example", text, StringComparison.Ordinal);
    }

    private static string PageText(PdfDocument pdf, int number) => pdf.GetPage(number).Text;
}
