using System.Diagnostics;
using Billing.Benchmarks.Harness;
using Billing.Domain;
using Billing.Functions.InvoicePdf;

namespace Billing.Benchmarks.Scenarios;

/// <summary>Invoice PDFs rendered per second on one thread: a 1-page and a 5-page invoice (targets ≥ 200/s and ≥ 40/s).</summary>
public static class PdfScenario
{
    public static void Run(Results results, bool quick)
    {
        var renderer = new InvoicePdfRenderer();
        var seconds = quick ? 2 : 10;
        foreach (var (name, lines, target) in new[] { ("1-page", 8, 200.0), ("5-page", 100, 40.0) })
        {
            var pages = Measure(renderer, lines, TimeSpan.FromSeconds(1), out _); // warm-up: fonts, shaping caches, JIT
            var rate = Measure(renderer, lines, TimeSpan.FromSeconds(seconds), out var size);
            results.Add("pdf", $"{name} invoices per second per thread", rate, "/s", $"≥ {target}", rate >= target, $"{size / 1024.0:0.#} KB each");
            _ = pages;
        }
    }

    private static double Measure(InvoicePdfRenderer renderer, int lines, TimeSpan duration, out int size)
    {
        var count = 0;
        size = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            // A different buyer and amounts each time, so caches of shaped text do not flatter the figure.
            size = renderer.Render(Sample.Invoice(lines, count)).Length;
            count++;
        }

        return count / clock.Elapsed.TotalSeconds;
    }
}

/// <summary>Invoice documents for the benchmarks.</summary>
public static class Sample
{
    private static readonly string[] Names = ["Zoë Müller-Østergård", "山田太郎", "Αθηνά Παπαδοπούλου", "Иван Петров", "김민준", "Ada Lovelace"];

    public static InvoiceDocument Invoice(int lineCount, int variant)
    {
        var usd = Currency.USD;
        var lines = Enumerable.Range(1, lineCount).Select(i => new InvoiceDocumentLine
        {
            Description = $"Pro plan seat {i} — workspace {variant % 97}",
            Period = new InvoicePeriod(new DateOnly(2026, 2, 1), new DateOnly(2026, 2, 28)),
            Quantity = i,
            UnitAmount = new Money(1_999 + variant % 100, usd),
            Amount = new Money((1_999L + variant % 100) * i, usd),
        }).ToList();
        var subtotal = new Money(lines.Sum(l => l.Amount.MinorUnits), usd);
        var tax = subtotal.MultiplyRate(0.2m);
        var total = subtotal + tax;
        return new InvoiceDocument
        {
            Number = $"BENCH-{variant:D6}",
            Status = InvoiceDocumentStatus.Open,
            Seller = new InvoiceSeller { Name = "Northwind Billing Ltd", AddressLines = ["1 Market Street", "London EC1A 1AA"], TaxId = "VAT GB123456789" },
            Buyer = new InvoiceBuyer { Name = Names[variant % Names.Length] + " " + variant, AddressLines = ["Hauptstraße 5", "10115 Berlin"] },
            IssueDate = new DateOnly(2026, 3, 1),
            DueDate = new DateOnly(2026, 3, 31),
            Currency = usd,
            Lines = lines,
            TaxLines = [new InvoiceTaxLine("VAT 20% (exclusive)", tax)],
            Subtotal = subtotal,
            TotalTax = tax,
            Total = total,
            AmountDue = total,
            AmountRemaining = total,
            GeneratedAt = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }
}
