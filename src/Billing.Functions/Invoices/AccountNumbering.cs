using Billing.Domain.Invoicing;
using Billing.Domain.Scheduling;
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
/// <para>
/// A reservation is a commitment to finalize: before a new claim is written, a <see cref="FinalizeReservedWork"/> item is
/// scheduled <see cref="FinalizeReservedAfter"/> ahead (real time, not a test clock: the sequence is account-wide). If the
/// finalizing request stops after the claim and is never retried, that item finalizes the draft with its number, so the
/// sequence has no gap even when the client goes away. A draft holding a claim must therefore not be deleted.
/// </para>
/// </summary>
public sealed class AccountNumbering(TableInvoicingStore store, IScheduleStore schedule, TimeProvider clock, IOptions<InvoicingOptions> options)
{
    public const string Partition = "numbering";

    /// <summary>Work kind that finishes the finalization of a draft holding a reserved number.</summary>
    public const string FinalizeReservedWork = "invoice_finalize_reserved";

    /// <summary>How long a finalization may take before the draft holding its reserved number is finalized by due work.</summary>
    public static readonly TimeSpan FinalizeReservedAfter = TimeSpan.FromMinutes(2);

    private const string SequenceRow = "account";
    private const int MaxAttempts = 100;

    public static string ClaimRow(string invoiceId) => "claim|" + invoiceId;

    public static string NumberRow(string number) => "number|" + number;

    /// <summary>The number claimed by <paramref name="invoiceId"/>, or null when it holds none.</summary>
    public async Task<NumberReservation?> FindClaimAsync(string invoiceId, CancellationToken cancellationToken = default) =>
        (await store.GetAsync<NumberReservation>(Partition, ClaimRow(invoiceId), cancellationToken))?.Value;

    /// <summary>Cancels a commitment once its invoice is saved with the number.</summary>
    public Task ReleaseCommitmentAsync(DueWork commitment, CancellationToken cancellationToken = default) => schedule.CancelAsync(commitment, cancellationToken);

    /// <summary>
    /// The number reserved for <paramref name="invoiceId"/>, reserving the next one if it has none yet. A new reservation
    /// comes with its commitment (the due-work item that finalizes the draft if nobody else does); it is returned so the
    /// caller can cancel it once the invoice is saved.
    /// </summary>
    public async Task<(string Number, DueWork? Commitment)> ReserveAsync(string customerId, string invoiceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        DueWork? commitment = null;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await FindClaimAsync(invoiceId, cancellationToken) is { } existing)
            {
                return (existing.Number, commitment);
            }

            if (commitment is null)
            {
                // Intent before the claim: a crash between the two leaves an item that finds no claim and does nothing.
                commitment = new DueWork { Kind = FinalizeReservedWork, CustomerId = customerId, TargetId = invoiceId, DueAt = clock.GetUtcNow() + FinalizeReservedAfter };
                await schedule.ScheduleAsync(commitment, cancellationToken);
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
                return (number, commitment);
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new Domain.ConcurrencyConflictException("Invoice numbers are being taken concurrently too often; retry the request.");
    }
}
