using System.Globalization;
using System.Text.RegularExpressions;
using Billing.Domain;
using SkiaSharp;

namespace Billing.Functions.InvoicePdf;

/// <summary>Something to paint on a page; coordinates are PDF points from the top-left corner.</summary>
internal abstract record DrawOp;

internal sealed record TextOp(ShapedText Text, float X, float Baseline, SKColor Color) : DrawOp;

internal sealed record RectOp(SKRect Rect, SKColor Fill, float Radius) : DrawOp;

internal sealed record LineOp(SKPoint From, SKPoint To, SKColor Color, float Width) : DrawOp;

/// <summary>
/// Lays an invoice out on A4 pages: every page's drawing operations are known before anything is painted, so the
/// page count ("Page X of Y") and the set of glyphs to embed are known up front.
/// </summary>
internal sealed partial class InvoiceLayout
{
    internal const float PageWidth = 595.28f;
    internal const float PageHeight = 841.89f;

    private const float Margin = 48f;
    private const float Left = Margin;
    private const float Right = PageWidth - Margin;
    private const float ContentBottom = PageHeight - 64f;

    // Line table columns: description | period | qty | unit price | amount (numbers right-aligned).
    private const float DescriptionWidth = 176f;
    private const float PeriodX = Left + 184f;
    private const float PeriodWidth = 108f;
    private const float QuantityRight = PeriodX + PeriodWidth + 40f;
    private const float UnitPriceRight = QuantityRight + 80f;

    private const float TotalsRowHeight = 17f;

    private static readonly SKColor Ink = new(0x1F, 0x23, 0x28);
    private static readonly SKColor Muted = new(0x65, 0x6D, 0x76);
    private static readonly SKColor Rule = new(0xD0, 0xD7, 0xDE);
    private static readonly SKColor LightRule = new(0xEA, 0xEE, 0xF2);

    private readonly InvoiceDocument document;
    private readonly TextShaper shaper;
    private readonly CultureInfo culture;
    private readonly string longDatePattern;
    private readonly List<List<DrawOp>> pages = [];
    private List<DrawOp> page = [];
    private float y;

    private InvoiceLayout(InvoiceDocument document, TextShaper shaper)
    {
        this.document = document;
        this.shaper = shaper;
        culture = document.Culture;
        longDatePattern = LongDateWithoutWeekday(culture);
    }

    internal static List<List<DrawOp>> Build(InvoiceDocument document, TextShaper shaper)
    {
        var layout = new InvoiceLayout(document, shaper);
        layout.LayOut();
        return layout.pages;
    }

    private void LayOut()
    {
        StartPage();
        FirstPageHeader();
        LineTable();
        Totals();
        FooterText();
        PageFooters();
    }

    private void StartPage()
    {
        page = [];
        pages.Add(page);
        y = Margin;
    }

    private void FirstPageHeader()
    {
        Text("Invoice", Left, y + 22, bold: true, 24, Ink);
        StatusBadge(y + 2);
        y += 44;

        var meta = new List<(string Label, string Value)> { ("Invoice number", document.Number), ("Date of issue", Date(document.IssueDate)) };
        if (document.DueDate is { } due)
        {
            meta.Add(("Date due", Date(due)));
        }

        if (document.Period is { } period)
        {
            meta.Add(("Billing period", Period(period, Date)));
        }

        if (document.PaidAt is { } paidAt)
        {
            meta.Add(("Paid on", Date(DateOnly.FromDateTime(paidAt.Date))));
        }

        foreach (var (label, value) in meta)
        {
            Text(label, Left, y + 9, bold: false, 9, Muted);
            Text(value, Left + 100, y + 9, bold: label == "Invoice number", 9, Ink);
            y += 14;
        }

        y += 16;
        var columnWidth = 235f;
        var sellerLines = new List<string>(document.Seller.AddressLines);
        if (!string.IsNullOrWhiteSpace(document.Seller.Email))
        {
            sellerLines.Add(document.Seller.Email);
        }

        if (!string.IsNullOrWhiteSpace(document.Seller.TaxId))
        {
            sellerLines.Add(document.Seller.TaxId);
        }

        var buyerLines = new List<string>(document.Buyer.AddressLines);
        if (!string.IsNullOrWhiteSpace(document.Buyer.Email))
        {
            buyerLines.Add(document.Buyer.Email);
        }

        buyerLines.AddRange(document.Buyer.TaxIds);

        var sellerBottom = PartyBlock("From", document.Seller.Name, sellerLines, Left, columnWidth);
        var buyerBottom = PartyBlock("Bill to", document.Buyer.Name, buyerLines, Left + 260, columnWidth);
        y = Math.Max(sellerBottom, buyerBottom) + 18;

        Text(PaymentSentence(), Left, y + 13, bold: true, 13, Ink);
        y += 26;

        if (!string.IsNullOrWhiteSpace(document.Memo))
        {
            foreach (var line in shaper.Wrap(document.Memo, bold: false, 9, Right - Left))
            {
                Place(line, Left, y + 9, Muted);
                y += 12;
            }

            y += 8;
        }

        y += 6;
    }

    private void StatusBadge(float top)
    {
        var (label, fill, ink) = document.Status switch
        {
            InvoiceDocumentStatus.Paid => ("PAID", new SKColor(0xDA, 0xFB, 0xE1), new SKColor(0x1A, 0x7F, 0x37)),
            InvoiceDocumentStatus.Open => ("OPEN", new SKColor(0xDD, 0xF4, 0xFF), new SKColor(0x09, 0x69, 0xDA)),
            InvoiceDocumentStatus.Void => ("VOID", new SKColor(0xEA, 0xEE, 0xF2), new SKColor(0x57, 0x60, 0x6A)),
            InvoiceDocumentStatus.Uncollectible => ("UNCOLLECTIBLE", new SKColor(0xFF, 0xEB, 0xE9), new SKColor(0xCF, 0x22, 0x2E)),
            _ => ("DRAFT", new SKColor(0xFF, 0xF8, 0xC5), new SKColor(0x9A, 0x67, 0x00)),
        };
        var text = shaper.Shape(label, bold: true, 9);
        var width = text.Width + 18;
        page.Add(new RectOp(new SKRect(Right - width, top, Right, top + 20), fill, 4));
        Place(text, Right - width + 9, top + 13.5f, ink);
    }

    private float PartyBlock(string heading, string name, List<string> lines, float x, float width)
    {
        var top = y;
        Text(heading, x, top + 9, bold: false, 9, Muted);
        top += 16;
        foreach (var line in shaper.Wrap(name, bold: true, 10.5f, width))
        {
            Place(line, x, top + 10.5f, Ink);
            top += 14;
        }

        foreach (var text in lines)
        {
            foreach (var line in shaper.Wrap(text, bold: false, 9, width))
            {
                Place(line, x, top + 9, Ink);
                top += 12.5f;
            }
        }

        return top;
    }

    private string PaymentSentence()
    {
        var remaining = document.AmountRemaining.Format(culture);
        return document.Status switch
        {
            InvoiceDocumentStatus.Paid when document.PaidAt is { } paidAt =>
                $"Paid {(document.AmountPaid ?? document.Total).Format(culture)} on {Date(DateOnly.FromDateTime(paidAt.Date))}",
            InvoiceDocumentStatus.Paid => $"Paid {(document.AmountPaid ?? document.Total).Format(culture)}",
            InvoiceDocumentStatus.Void => "This invoice is void. No payment is due.",
            InvoiceDocumentStatus.Uncollectible => $"{remaining} outstanding, marked uncollectible",
            InvoiceDocumentStatus.Draft => "Draft: amounts and dates may change before the invoice is issued.",
            _ when document.DueDate is { } due => $"{remaining} due {Date(due)}",
            _ => $"{remaining} due",
        };
    }

    private void TableHeader()
    {
        var baseline = y + 9;
        Text("Description", Left, baseline, bold: true, 8, Muted);
        Text("Period", PeriodX, baseline, bold: true, 8, Muted);
        TextRight("Qty", QuantityRight, baseline, bold: true, 8, Muted);
        TextRight("Unit price", UnitPriceRight, baseline, bold: true, 8, Muted);
        TextRight("Amount", Right, baseline, bold: true, 8, Muted);
        y += 15;
        page.Add(new LineOp(new SKPoint(Left, y), new SKPoint(Right, y), Rule, 0.75f));
        y += 2;
    }

    private void ContinuationHeader()
    {
        Text($"Invoice {document.Number}", Left, y + 11, bold: true, 11, Ink);
        TextRight(document.Seller.Name, Right, y + 11, bold: false, 9, Muted);
        y += 30;
    }

    private void NewPage(bool tableHeader)
    {
        StartPage();
        ContinuationHeader();
        if (tableHeader)
        {
            TableHeader();
        }
    }

    private void LineTable()
    {
        TableHeader();
        if (document.Lines.Count == 0)
        {
            Text("No line items", Left, y + 14, bold: false, 9, Muted);
            y += 22;
            return;
        }

        var totalsHeight = TotalsHeight(TotalsRows().Count);
        for (var index = 0; index < document.Lines.Count; index++)
        {
            var line = document.Lines[index];
            var description = shaper.Wrap(line.Description, bold: false, 9, DescriptionWidth);
            var taxLabel = string.IsNullOrWhiteSpace(line.TaxRateLabel) ? [] : shaper.Wrap(line.TaxRateLabel, bold: false, 7.5f, DescriptionWidth);
            var period = line.Period is { } p ? shaper.Wrap(Period(p, ShortDate), bold: false, 8, PeriodWidth) : [];
            var height = Math.Max((description.Count * 12f) + (taxLabel.Count * 10f), period.Count * 11f) + 8f;

            // The last row moves to the next page with the totals rather than leave them alone on a page.
            var needed = index == document.Lines.Count - 1 && totalsHeight <= ContentBottom - Margin - 80 ? height + totalsHeight : height;
            if (y + needed > ContentBottom && y > Margin + 60)
            {
                NewPage(tableHeader: true);
            }

            var baseline = y + 13;
            var lineBaseline = baseline;
            foreach (var text in description)
            {
                Place(text, Left, lineBaseline, Ink);
                lineBaseline += 12;
            }

            foreach (var text in taxLabel)
            {
                Place(text, Left, lineBaseline - 1.5f, Muted);
                lineBaseline += 10;
            }

            var periodBaseline = baseline;
            foreach (var text in period)
            {
                Place(text, PeriodX, periodBaseline, Ink);
                periodBaseline += 11;
            }

            if (line.Quantity is { } quantity)
            {
                TextRight(quantity.ToString("#,0.##########", culture), QuantityRight, baseline, bold: false, 9, Ink);
            }

            if (line.UnitAmount is { } unit)
            {
                TextRight(unit.Format(culture), UnitPriceRight, baseline, bold: false, 9, Ink);
            }

            TextRight(line.Amount.Format(culture), Right, baseline, bold: false, 9, Ink);
            y += height;
            page.Add(new LineOp(new SKPoint(Left, y), new SKPoint(Right, y), LightRule, 0.5f));
        }
    }

    private static float TotalsHeight(int rows) => 24 + (rows * TotalsRowHeight);

    private void Totals()
    {
        var rows = TotalsRows();
        const float labelX = Right - 250;
        if (y + TotalsHeight(rows.Count) > ContentBottom)
        {
            NewPage(tableHeader: false);
        }

        y += 10;
        foreach (var (label, value, bold, ruleAbove) in rows)
        {
            if (ruleAbove)
            {
                page.Add(new LineOp(new SKPoint(labelX, y + 1), new SKPoint(Right, y + 1), Rule, 0.75f));
            }

            var size = bold ? 10f : 9f;
            Text(label, labelX, y + 13, bold, size, bold ? Ink : Muted);
            TextRight(value, Right, y + 13, bold, size, Ink);
            y += TotalsRowHeight;
        }

        y += 14;
    }

    private List<(string Label, string Value, bool Bold, bool RuleAbove)> TotalsRows()
    {
        var rows = new List<(string Label, string Value, bool Bold, bool RuleAbove)> { ("Subtotal", document.Subtotal.Format(culture), false, false) };
        foreach (var discount in document.Discounts)
        {
            rows.Add((discount.Label, Negative(discount.Amount), false, false));
        }

        if (document.Discounts.Count == 0 && document.TotalDiscount is { IsZero: false } totalDiscount)
        {
            rows.Add(("Discount", Negative(totalDiscount), false, false));
        }

        foreach (var tax in document.TaxLines)
        {
            rows.Add((tax.Label, tax.Amount.Format(culture), false, false));
        }

        if (document.TaxLines.Count == 0 && document.TotalTax is { IsZero: false } totalTax)
        {
            rows.Add(("Tax", totalTax.Format(culture), false, false));
        }

        rows.Add(("Total", document.Total.Format(culture), true, true));
        if (document.CreditApplied is { IsZero: false } credit)
        {
            rows.Add(("Credit applied", Negative(credit), false, false));
        }

        rows.Add(("Amount due", document.AmountDue.Format(culture), true, document.CreditApplied is { IsZero: false }));
        if (document.AmountPaid is { } paid && (!paid.IsZero || document.Status == InvoiceDocumentStatus.Paid))
        {
            rows.Add(("Amount paid", Negative(paid), false, false));
            rows.Add(("Amount remaining", document.AmountRemaining.Format(culture), true, true));
        }

        return rows;
    }

    private void FooterText()
    {
        if (string.IsNullOrWhiteSpace(document.Footer))
        {
            return;
        }

        foreach (var line in shaper.Wrap(document.Footer, bold: false, 8.5f, Right - Left))
        {
            if (y + 12 > ContentBottom)
            {
                NewPage(tableHeader: false);
            }

            Place(line, Left, y + 9, Muted);
            y += 11.5f;
        }
    }

    private void PageFooters()
    {
        var count = pages.Count;
        for (var i = 0; i < count; i++)
        {
            page = pages[i];
            var top = PageHeight - 44;
            page.Add(new LineOp(new SKPoint(Left, top), new SKPoint(Right, top), LightRule, 0.5f));
            Text($"{document.Number} · {document.Seller.Name}", Left, top + 15, bold: false, 8, Muted);
            TextRight(string.Create(CultureInfo.InvariantCulture, $"Page {i + 1} of {count}"), Right, top + 15, bold: false, 8, Muted);
        }
    }

    private string Negative(Money amount) => (amount.IsZero ? amount : amount.Negate()).Format(culture);

    private string Date(DateOnly date) => date.ToString(longDatePattern, culture);

    private string ShortDate(DateOnly date) => date.ToString("d", culture);

    private static string Period(InvoicePeriod period, Func<DateOnly, string> format) => $"{format(period.Start)} – {format(period.End)}";

    private void Text(string text, float x, float baseline, bool bold, float size, SKColor color) =>
        Place(shaper.Shape(text, bold, size), x, baseline, color);

    private void TextRight(string text, float right, float baseline, bool bold, float size, SKColor color)
    {
        var shaped = shaper.Shape(text, bold, size);
        Place(shaped, right - shaped.Width, baseline, color);
    }

    private void Place(ShapedText text, float x, float baseline, SKColor color)
    {
        if (text.Runs.Length > 0)
        {
            page.Add(new TextOp(text, x, baseline, color));
        }
    }

    /// <summary>The culture's long date without the weekday: "MMMM d, yyyy" (en-US), "d. MMMM yyyy" (de-DE), "yyyy年M月d日" (ja-JP).</summary>
    private static string LongDateWithoutWeekday(CultureInfo culture)
    {
        var pattern = WeekdayPattern().Replace(culture.DateTimeFormat.LongDatePattern, " ").Trim(' ', ',');
        return pattern.Contains('d', StringComparison.Ordinal) && pattern.Contains('y', StringComparison.Ordinal) ? pattern : "yyyy-MM-dd";
    }

    [GeneratedRegex(@"[,\s]*dddd[,\s]*", RegexOptions.CultureInvariant)]
    private static partial Regex WeekdayPattern();
}
