using Billing.Domain;
using SkiaSharp;

namespace Billing.Functions.InvoicePdf;

/// <summary>
/// Renders an <see cref="InvoiceDocument"/> to an A4 PDF with Skia's PDF backend. Text is shaped with HarfBuzz and
/// drawn with embedded, per-document subsets of the bundled fonts, with a ToUnicode map (and ActualText for
/// ligatures), so it can be searched, copied and extracted.
/// </summary>
/// <remarks>
/// Thread-safe and reusable: register one instance as a singleton. Fonts are loaded once per process on first use.
/// Output is deterministic: the same document always produces the same bytes (the PDF dates come from
/// <see cref="InvoiceDocument.GeneratedAt"/>, and the file carries no random id).
/// </remarks>
public sealed class InvoicePdfRenderer
{
    private readonly FontSet fonts = FontSet.Shared;

    /// <summary>Renders the invoice and returns the PDF file's bytes.</summary>
    public byte[] Render(InvoiceDocument document)
    {
        using var output = new MemoryStream();
        Render(document, output);
        return output.ToArray();
    }

    /// <summary>Renders the invoice as a PDF file written to <paramref name="output"/> (which is left open).</summary>
    public void Render(InvoiceDocument document, Stream output)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(output);
        EnsureSingleCurrency(document);

        List<List<DrawOp>> pages;
        using (var shaper = new TextShaper(fonts))
        {
            pages = InvoiceLayout.Build(document, shaper);
        }

        var subsets = SubsetFonts(pages);
        try
        {
            Paint(document, pages, subsets, output);
        }
        finally
        {
            foreach (var subset in subsets)
            {
                subset?.Dispose();
            }
        }
    }

    /// <summary>An invoice mixing currencies is a mapping bug upstream; printing it would mislead the reader.</summary>
    private static void EnsureSingleCurrency(InvoiceDocument document)
    {
        var amounts = new List<Money?>
        {
            document.Subtotal, document.TotalDiscount, document.TotalTax, document.Total, document.CreditApplied,
            document.AmountDue, document.AmountPaid, document.AmountRemaining,
        };
        amounts.AddRange(document.Lines.SelectMany(l => new[] { l.UnitAmount, l.Amount }));
        amounts.AddRange(document.Discounts.Select(d => (Money?)d.Amount));
        amounts.AddRange(document.TaxLines.Select(t => (Money?)t.Amount));
        foreach (var amount in amounts)
        {
            if (amount is { } money && money.Currency != document.Currency)
            {
                throw new ArgumentException(
                    $"Invoice {document.Number} is in {document.Currency.Code} but contains an amount in {money.Currency.Code}.", nameof(document));
            }
        }
    }

    private SubsetFont?[] SubsetFonts(List<List<DrawOp>> pages)
    {
        var count = fonts.Fonts.Count;
        var glyphs = new HashSet<ushort>?[count];
        var codepoints = new HashSet<int>?[count];
        foreach (var op in pages.SelectMany(p => p).OfType<TextOp>())
        {
            foreach (var run in op.Text.Runs)
            {
                (glyphs[run.Font] ??= []).UnionWith(run.Glyphs);
                (codepoints[run.Font] ??= []).UnionWith(run.Codepoints);
            }
        }

        var subsets = new SubsetFont?[count];
        for (var i = 0; i < count; i++)
        {
            if (glyphs[i] is { } used)
            {
                subsets[i] = fonts.Fonts[i].Subset(used, codepoints[i]!);
            }
        }

        return subsets;
    }

    private static void Paint(InvoiceDocument document, List<List<DrawOp>> pages, SubsetFont?[] subsets, Stream output)
    {
        var created = document.GeneratedAt.UtcDateTime;
        var metadata = new SKDocumentPdfMetadata
        {
            Title = $"Invoice {document.Number}",
            Author = document.Seller.Name,
            Subject = $"Invoice {document.Number} for {document.Buyer.Name}",
            Creator = "BillingFunctions",
            Creation = created,
            Modified = created,
        };

        var skFonts = new Dictionary<(int Font, float Size), SKFont>();
        using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke };
        try
        {
            using var pdf = SKDocument.CreatePdf(output, metadata)
                ?? throw new InvalidOperationException("Skia could not create a PDF document.");
            foreach (var ops in pages)
            {
                var canvas = pdf.BeginPage(InvoiceLayout.PageWidth, InvoiceLayout.PageHeight);
                foreach (var op in ops)
                {
                    switch (op)
                    {
                        case TextOp text:
                            DrawText(canvas, text, subsets, skFonts, paint);
                            break;
                        case RectOp rect:
                            paint.Color = rect.Fill;
                            canvas.DrawRoundRect(rect.Rect, rect.Radius, rect.Radius, paint);
                            break;
                        case LineOp line:
                            stroke.Color = line.Color;
                            stroke.StrokeWidth = line.Width;
                            canvas.DrawLine(line.From, line.To, stroke);
                            break;
                        default:
                            throw new InvalidOperationException($"Unknown drawing operation {op.GetType().Name}.");
                    }
                }

                pdf.EndPage();
            }

            pdf.Close();
        }
        finally
        {
            foreach (var font in skFonts.Values)
            {
                font.Dispose();
            }
        }
    }

    private static void DrawText(SKCanvas canvas, TextOp op, SubsetFont?[] subsets, Dictionary<(int Font, float Size), SKFont> skFonts, SKPaint paint)
    {
        using var builder = new SKTextBlobBuilder();
        foreach (var run in op.Text.Runs)
        {
            if (run.Glyphs.Length == 0)
            {
                continue;
            }

            var subset = subsets[run.Font]!;
            if (!skFonts.TryGetValue((run.Font, op.Text.Size), out var font))
            {
                font = new SKFont(subset.Typeface, op.Text.Size)
                {
                    Hinting = SKFontHinting.None,
                    Subpixel = true,
                    LinearMetrics = true,
                };
                skFonts[(run.Font, op.Text.Size)] = font;
            }

            var buffer = builder.AllocatePositionedTextRun(font, run.Glyphs.Length, run.Utf8.Length, null);
            var glyphs = buffer.Glyphs;
            for (var i = 0; i < run.Glyphs.Length; i++)
            {
                glyphs[i] = subset.Map(run.Glyphs[i]);
            }

            run.Positions.CopyTo(buffer.Positions);
            run.Utf8.CopyTo(buffer.Text);
            run.Clusters.CopyTo(buffer.Clusters);
        }

        using var blob = builder.Build();
        if (blob is not null)
        {
            paint.Color = op.Color;
            canvas.DrawText(blob, op.X, op.Baseline, paint);
        }
    }
}
