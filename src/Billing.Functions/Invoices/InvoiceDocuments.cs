using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Functions.InvoicePdf;
using Billing.Functions.Storage;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Invoices;

/// <summary>
/// Invoice PDFs in Blob container <c>invoices</c> at <c>{customer id}/{invoice id}.pdf</c>. A PDF is rendered from the
/// invoice as finalized and written with If-None-Match: *, so it is created once and never overwritten: a second
/// attempt (a retry, a concurrent request) finds it and keeps the first.
/// </summary>
public sealed partial class InvoiceDocuments(StorageClients clients, InvoicePdfRenderer renderer, IOptions<InvoicingOptions> options, ILogger<InvoiceDocuments> logger)
{
    public const string Container = "invoices";

    public static string BlobName(Invoice invoice)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        return $"{invoice.CustomerId}/{invoice.Id}.pdf";
    }

    public BlobClient Blob(Invoice invoice) => clients.Container(Container).GetBlobClient(BlobName(invoice));

    /// <summary>Renders and stores the PDF unless it exists. Returns true when this call created it.</summary>
    public Task<bool> EnsureAsync(Invoice invoice, Customer customer, CancellationToken cancellationToken = default) =>
        EnsureAsync(invoice, customer, knownNew: false, cancellationToken);

    /// <summary>
    /// With <paramref name="knownNew"/> (the invoice was finalized just now) the existence check is skipped: the PDF is
    /// rendered and created conditionally, and one made first by someone else stays.
    /// </summary>
    private async Task<bool> EnsureAsync(Invoice invoice, Customer customer, bool knownNew, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        var blob = Blob(invoice);
        if (!knownNew && await blob.ExistsAsync(cancellationToken))
        {
            return false;
        }

        var bytes = renderer.Render(ToDocument(invoice, customer, options.Value));
        try
        {
            await blob.UploadAsync(new BinaryData(bytes), new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/pdf" },
            }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false; // someone else stored it first: theirs stays
        }
    }

    /// <summary>Best effort at finalization: a failure is logged and the PDF is made on first download instead.</summary>
    public async Task TryEnsureAsync(Invoice invoice, Customer customer, bool knownNew = false, CancellationToken cancellationToken = default)
    {
        try
        {
            await EnsureAsync(invoice, customer, knownNew, cancellationToken);
        }
        catch (Exception e) when (e is RequestFailedException or ArgumentException or InvalidOperationException)
        {
            LogRenderFailed(logger, e, invoice.Id);
        }
    }

    /// <summary>Maps a finalized invoice to what the PDF shows; amounts are copied, never recomputed.</summary>
    public static InvoiceDocument ToDocument(Invoice invoice, Customer customer, InvoicingOptions seller)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(seller);
        var currency = Currency.FromCode(invoice.Currency);
        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(customer.TimeZone, out var tz) ? tz : TimeZoneInfo.Utc;
        DateOnly Day(DateTimeOffset t) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(t, zone).DateTime);
        InvoicePeriod? Period(DateTimeOffset start, DateTimeOffset end) =>
            end <= start ? null : new InvoicePeriod(Day(start), Day(end.AddTicks(-1)));
        Money M(long minor) => new(minor, currency);
        var finalized = invoice.FinalizedAt ?? invoice.Created;
        var credit = invoice.StartingBalance < 0 ? Math.Min(-invoice.StartingBalance, Math.Max(0, invoice.Total)) : 0;
        return new InvoiceDocument
        {
            Number = invoice.Number ?? "DRAFT",
            Status = invoice.Status switch
            {
                InvoiceStatus.Draft => InvoiceDocumentStatus.Draft,
                InvoiceStatus.Paid => InvoiceDocumentStatus.Paid,
                InvoiceStatus.Void => InvoiceDocumentStatus.Void,
                InvoiceStatus.Uncollectible => InvoiceDocumentStatus.Uncollectible,
                _ => InvoiceDocumentStatus.Open,
            },
            Seller = new InvoiceSeller
            {
                Name = seller.SellerName,
                AddressLines = seller.SellerAddress?.Split(['\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
                TaxId = seller.SellerTaxId,
                Email = seller.SellerEmail,
            },
            Buyer = new InvoiceBuyer
            {
                Name = customer.Name ?? customer.Email ?? customer.Id,
                Email = customer.Email,
                AddressLines = AddressLines(customer.BillingAddress),
                TaxIds = [.. customer.TaxIds.Select(t => $"{t.Type.Replace('_', ' ').ToUpperInvariant()} {t.Value}")],
            },
            IssueDate = Day(finalized),
            DueDate = invoice.DueDate is { } due ? Day(due) : null,
            PaidAt = invoice.PaidAt is { } paid ? TimeZoneInfo.ConvertTime(paid, zone) : null,
            Period = Period(invoice.PeriodStart, invoice.PeriodEnd),
            Currency = currency,
            Lines = [.. invoice.Lines.Select(l => new InvoiceDocumentLine
            {
                Description = l.Description,
                Period = Period(l.PeriodStart, l.PeriodEnd),
                Quantity = l.Quantity,
                UnitAmount = l.Proration || l.UnitAmount is null ? null : M(l.UnitAmount.Value),
                Amount = M(l.Amount),
                TaxRateLabel = l.TaxAmounts.Count == 0 ? null : string.Join(", ", l.TaxAmounts.Select(TaxLabel)),
            })],
            Discounts = invoice.AppliedDiscount is { } d && invoice.TotalDiscount > 0
                ? [new InvoiceDiscountLine(d.Coupon.Name is { } name ? $"{name} ({d.Coupon.Id})" : d.Coupon.Id, M(invoice.TotalDiscount))]
                : [],
            TaxLines = [.. invoice.TaxAmounts.Select(t => new InvoiceTaxLine(TaxLabel(t), M(t.Amount)))],
            Subtotal = M(invoice.Subtotal),
            TotalDiscount = invoice.TotalDiscount > 0 ? M(invoice.TotalDiscount) : null,
            TotalTax = invoice.TotalTax != 0 ? M(invoice.TotalTax) : null,
            Total = M(invoice.Total),
            CreditApplied = credit > 0 ? M(credit) : null,
            AmountDue = M(invoice.AmountDue),
            AmountPaid = invoice.AmountPaid > 0 ? M(invoice.AmountPaid) : null,
            AmountRemaining = M(invoice.AmountRemaining),
            Memo = invoice.Description,
            Footer = invoice.Footer,
            GeneratedAt = finalized,
        };
    }

    private static string TaxLabel(TaxAmount t) =>
        $"{t.DisplayName} {t.Percentage.ToString("0.####", CultureInfo.InvariantCulture)}%" + (t.Inclusive ? " (inclusive)" : " (exclusive)");

    private static List<string> AddressLines(Address? a)
    {
        if (a is null)
        {
            return [];
        }

        var cityLine = string.Join(" ", new[] { a.PostalCode, a.City, a.State }.Where(s => !string.IsNullOrWhiteSpace(s)));
        return [.. new[] { a.Line1, a.Line2, cityLine, a.Country }.Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s!)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invoice PDF for {InvoiceId} not stored at finalization; it will be made on first download")]
    private static partial void LogRenderFailed(ILogger logger, Exception exception, string invoiceId);
}
