using Billing.Domain.Invoicing;
using Billing.Functions.Storage;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Invoices;

/// <summary>A number reserved for one invoice (row <c>number|{number}</c> and <c>claim|{invoice id}</c> in partition <c>numbering</c>).</summary>
public sealed record NumberReservation(string Number, string InvoiceId, DateTimeOffset ReservedAt);

/// <summary>
/// The gapless account-wide sequence (<c>INV-{yyyy}-{000123}</c>), shared by all customers and app instances. The
/// sequence row lives in partition <c>numbering</c>, apart from the invoice (another partition), so a number is claimed
/// in its own transaction — sequence row advanced with If-Match + <c>number|{n}</c> → invoice id + <c>claim|{invoice id}</c>
/// → number — before the invoice is saved. A crash after the claim leaves a reservation that the same invoice finds and
/// reuses when its finalization is retried, so a number is never handed out twice and never skipped.
/// </summary>
public sealed class AccountNumbering(TableInvoicingStore store, IOptions<InvoicingOptions> options)
{
    public const string Partition = "numbering";
    private const string SequenceRow = "account";
    private const int MaxAttempts = 100;

    public static string ClaimRow(string invoiceId) => "claim|" + invoiceId;

    public static string NumberRow(string number) => "number|" + number;

    /// <summary>The number reserved for <paramref name="invoiceId"/>, reserving the next one if it has none yet.</summary>
    public async Task<string> ReserveAsync(string invoiceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.GetAsync<NumberReservation>(Partition, ClaimRow(invoiceId), cancellationToken) is { } existing)
            {
                return existing.Value.Number;
            }

            var sequence = await store.GetAsync<NumberSequence>(Partition, SequenceRow, cancellationToken);
            var (number, next) = (sequence?.Value ?? NumberSequence.AccountWide(options.Value.AccountNumberPrefix)).Take(now);
            var reservation = new NumberReservation(number, invoiceId, now);
            var batch = new PartitionBatch(Partition)
                .Put(SequenceRow, next, sequence?.ETag)
                .Insert(NumberRow(number), reservation)
                .Insert(ClaimRow(invoiceId), reservation);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                return number;
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new Domain.ConcurrencyConflictException("Invoice numbers are being taken concurrently too often; retry the request.");
    }
}
