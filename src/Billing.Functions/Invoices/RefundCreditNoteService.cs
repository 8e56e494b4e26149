using Billing.Domain;
using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Domain.Scheduling;
using Billing.Domain.TestClocks;
using Billing.Functions.Notifications;
using Billing.Functions.Payments;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;

namespace Billing.Functions.Invoices;

/// <summary>Which credit note a client request key issued, and the fingerprint of that request.</summary>
public sealed record CreditNoteRequestEntry(string CreditNoteId, string RequestHash);

/// <summary>
/// Refund credit notes on paid invoices: the credit note is issued and its amount goes back to the customer as one
/// refund of one of the invoice's payments, exactly once whatever fails.
/// <list type="number">
/// <item><b>Intent.</b> A <see cref="Work"/> item is scheduled first (it finishes the refund if this request stops). Then
/// one transaction in the customer's partition writes the invoice's new amounts (If-Match), the note with its refund id
/// (derived from the note id), the request key row, and — through the payment rows — the payment with the refund amount
/// reserved (If-Match; the processor payment is adopted into a payment record on its first refund) and the pending refund
/// with its request key. The note therefore never exists without its reserved refund, and neither a concurrent credit
/// note nor a refund through <c>/api/payments/{id}/refunds</c> can take the same money.</item>
/// <item><b>Side effect.</b> <see cref="PaymentService.ResumeRefundAsync"/> sends the refund with key
/// <c>{refund id}:create</c>, so the request, a client retry, and the due work all send the same refund.</item>
/// <item><b>Outcome.</b> The refund's status is mirrored on the note; the due work re-reads a pending refund hourly
/// until it settles.</item>
/// </list>
/// A refund the processor refuses, or that fails after being accepted, voids the note: its amounts go back to the
/// invoice (see <see cref="CreditNote.VoidForFailedRefund"/>), and <c>credit_note.voided</c> is published.
/// The payment refunded is the invoice's newest succeeded payment that can cover the whole amount; one credit note never
/// splits a refund across payments (issue one note per payment instead).
/// </summary>
public sealed partial class RefundCreditNoteService(
    TableInvoicingStore store,
    TablePaymentStore paymentRows,
    PaymentService payments,
    IBillingClock billingClock,
    TimeProvider clock,
    IScheduleStore schedule,
    INotifier notifier,
    ILogger<RefundCreditNoteService> logger) : IWorkHandler
{
    /// <summary>Work kind that finishes (then follows until it settles) the refund of a credit note.</summary>
    public const string Work = "credit_note_refund";

    /// <summary>When the due work first looks at a new refund credit note (a request still running then is harmless: same keys).</summary>
    public static readonly TimeSpan ResumeAfter = TimeSpan.FromMinutes(5);

    private const int MaxAttempts = 60;
    private const int MaxChecks = 72;

    public string Kind => Work;

    public static string RequestRow(string requestKey) => "cnkey|" + requestKey;

    /// <summary>The key of the refund's row under which <see cref="IPaymentStore"/> finds it again.</summary>
    public static string RefundRequestKey(string creditNoteId) => "credit_note:" + creditNoteId;

    /// <summary>
    /// Issues a refund credit note once per <paramref name="requestKey"/> (a retry with the same key resumes the note the
    /// first request issued). Returns the note as it stands after the refund was sent: refund pending or succeeded, or
    /// the note void with its refund failed.
    /// </summary>
    public async Task<(CreditNote Note, Invoice Invoice)> IssueAsync(string invoiceId, CreditNoteInput input, string requestKey, string requestHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Outcome != CreditNoteOutcome.Refund)
        {
            throw new ArgumentException("Only refund credit notes are issued here.", nameof(input));
        }

        var located = await store.FindInvoiceAsync(invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
        var customerId = located.Value.CustomerId;
        if (await IssuedForAsync(customerId, requestKey, requestHash, cancellationToken) is { } issued)
        {
            return await CompleteAsync(customerId, issued, cancellationToken);
        }

        var now = await billingClock.NowForAsync(customerId, cancellationToken);
        var noteId = Ids.New(CreditNote.IdPrefix, now);

        // Everything that can refuse the request does so before anything is written.
        var preview = CreditNote.Issue(located.Value, input, noteId, now);
        var source = await ChooseSourceAsync(located.Value, preview.RefundAmount, cancellationToken);
        var gatewayPaymentId = source.Payment.GatewayPaymentId!;

        var work = new DueWork { Kind = Work, CustomerId = customerId, TargetId = noteId, DueAt = clock.GetUtcNow() + ResumeAfter };
        await schedule.ScheduleAsync(work, cancellationToken);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await IssuedForAsync(customerId, requestKey, requestHash, cancellationToken) is { } concurrent)
            {
                return await CompleteAsync(customerId, concurrent, cancellationToken);
            }

            var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var result = CreditNote.Issue(loaded.Value, input, noteId, now);
            // The payment as stored now (with its ETag), or the record it will be adopted as.
            var adopted = await paymentRows.FindByRequestKeyAsync(customerId, Payment.AdoptionKey(gatewayPaymentId), cancellationToken) is { } found
                ? await paymentRows.GetStoredAsync(customerId, found.Id, cancellationToken)
                : null;
            var (refunding, reserved, refund) = CreditNote.RefundThrough(result, adopted?.Payment ?? source.Payment, clock.GetUtcNow());
            var note = refunding.CreditNote;
            var batch = new PartitionBatch(customerId)
                .Replace(TableInvoicingStore.InvoiceRow(invoiceId), refunding.Invoice, loaded.ETag, TableInvoicingStore.InvoiceColumns(refunding.Invoice))
                .Insert(TableInvoicingStore.CreditNoteRow(note.Id), note, new Dictionary<string, object?> { ["InvoiceId"] = invoiceId })
                .Insert(RequestRow(requestKey), new CreditNoteRequestEntry(note.Id, requestHash));
            TablePaymentStore.AddPayment(batch, reserved, adopted?.ETag, Payment.AdoptionKey(gatewayPaymentId));
            TablePaymentStore.AddRefund(batch, refund, RefundRequestKey(note.Id));
            if (adopted is null)
            {
                await paymentRows.AddIndexAsync(reserved, cancellationToken);
            }

            await store.AddIndexAsync(TableInvoicingStore.CreditNoteIndex, note.Id, customerId, cancellationToken);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                await notifier.PublishAsync("credit_note.created", customerId, CreditNoteResponse.From(note), $"credit_note.created:{note.Id}", cancellationToken);
                await notifier.PublishAsync("refund.created", customerId, RefundResponse.From(refund), $"refund.created:{refund.Id}", cancellationToken);
                return await CompleteAsync(customerId, note.Id, cancellationToken);
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice or its payment was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Sends the note's refund if it was never sent, re-reads it if it is still pending, and mirrors its state on the note
    /// (voiding it when the refund failed). Idempotent; returns the note and its invoice as they now stand.
    /// </summary>
    public async Task<(CreditNote Note, Invoice Invoice)> CompleteAsync(string customerId, string creditNoteId, CancellationToken cancellationToken = default)
    {
        var note = (await store.GetAsync<CreditNote>(customerId, TableInvoicingStore.CreditNoteRow(creditNoteId), cancellationToken) ?? throw new NotFoundException("credit_note", creditNoteId)).Value;
        if (note is { Status: CreditNoteStatus.Issued, Refund: { IsSettled: false } pending })
        {
            var (refund, _) = await payments.ResumeRefundAsync(customerId, pending.PaymentId, pending.Id, cancellationToken);
            if (refund is not null)
            {
                note = await RecordAsync(customerId, creditNoteId, refund, cancellationToken);
            }
        }

        var invoice = await store.GetInvoiceAsync(customerId, note.InvoiceId, cancellationToken) ?? throw new NotFoundException("invoice", note.InvoiceId);
        return (note, invoice.Value);
    }

    /// <summary>The due work: finishes a note's refund after a crash, then follows a pending refund hourly until it settles.</summary>
    public async Task HandleAsync(DueWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (await store.GetAsync<CreditNote>(work.CustomerId, TableInvoicingStore.CreditNoteRow(work.TargetId), cancellationToken) is not { Value: { Status: CreditNoteStatus.Issued, Refund: { IsSettled: false } } })
        {
            return; // never issued (the request stopped before its transaction), void, or settled
        }

        CreditNote note;
        try
        {
            note = (await CompleteAsync(work.CustomerId, work.TargetId, cancellationToken)).Note;
        }
        catch (PaymentGatewayUnavailableException)
        {
            note = (await store.GetAsync<CreditNote>(work.CustomerId, TableInvoicingStore.CreditNoteRow(work.TargetId), cancellationToken))!.Value;
        }

        var check = (int)work.ExpectedVersion + 1;
        if (note is not { Status: CreditNoteStatus.Issued, Refund: { IsSettled: false } })
        {
            LogSettled(logger, note.Id, note.Refund?.Status.ToString() ?? "none", check);
            return;
        }

        if (check >= MaxChecks)
        {
            LogStuck(logger, note.Id, check);
            return;
        }

        await schedule.ScheduleAsync(work with { ExpectedVersion = check, DueAt = clock.GetUtcNow() + PaymentService.ReconcileAfter }, cancellationToken);
    }

    /// <summary>Mirrors <paramref name="refund"/> on the note; a failed refund voids the note and gives its amounts back to the invoice, in one transaction.</summary>
    private async Task<CreditNote> RecordAsync(string customerId, string creditNoteId, Refund refund, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var stored = await store.GetAsync<CreditNote>(customerId, TableInvoicingStore.CreditNoteRow(creditNoteId), cancellationToken) ?? throw new NotFoundException("credit_note", creditNoteId);
            if (stored.Value.Status == CreditNoteStatus.Void)
            {
                return stored.Value;
            }

            var updated = stored.Value.WithRefundState(refund);
            var state = updated.Refund!;
            var batch = new PartitionBatch(customerId);
            if (state.HasFailed)
            {
                var invoice = await store.GetInvoiceAsync(customerId, updated.InvoiceId, cancellationToken) ?? throw new NotFoundException("invoice", updated.InvoiceId);
                var (voided, reverted) = updated.VoidForFailedRefund(invoice.Value, await NowAsync(customerId, cancellationToken));
                updated = voided;
                batch.Replace(TableInvoicingStore.InvoiceRow(reverted.Id), reverted, invoice.ETag, TableInvoicingStore.InvoiceColumns(reverted));
            }
            else if (updated == stored.Value)
            {
                return updated;
            }

            batch.Replace(TableInvoicingStore.CreditNoteRow(creditNoteId), updated, stored.ETag, new Dictionary<string, object?> { ["InvoiceId"] = updated.InvoiceId });
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                var data = CreditNoteResponse.From(updated);
                if (updated.Status == CreditNoteStatus.Void)
                {
                    LogVoided(logger, updated.Id, state.Id, state.FailureReason ?? "unknown");
                    await notifier.PublishAsync("credit_note.voided", customerId, data, $"credit_note.voided:{updated.Id}", cancellationToken);
                }
                else
                {
                    await notifier.PublishAsync("credit_note.updated", customerId, data, $"credit_note.updated:{updated.Id}:{state.Status}", cancellationToken);
                }

                return updated;
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new ConcurrencyConflictException("The credit note was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// The payment to refund: the invoice's newest succeeded collection payment that can still refund the whole
    /// <paramref name="amount"/> (refunds made outside credit notes count). Reads only.
    /// </summary>
    private async Task<(Payment Payment, bool Saved)> ChooseSourceAsync(Invoice invoice, long amount, CancellationToken cancellationToken)
    {
        var paid = (await store.AttemptsAsync(invoice.CustomerId, invoice.Id, cancellationToken))
            .Where(a => a.Value is { Status: CollectionStatus.Succeeded, PaymentId: not null })
            .OrderByDescending(a => a.Value.Number)
            .Select(a => a.Value.PaymentId!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (paid.Count == 0)
        {
            throw new InvalidStateException(
                $"Invoice '{invoice.Id}' was not paid through the payment processor (paid out of band, or by credit), so there is no payment to refund; credit the customer balance instead.",
                "no_refundable_payment");
        }

        long most = 0;
        foreach (var gatewayPaymentId in paid)
        {
            var view = await payments.ViewGatewayPaymentAsync(invoice.CustomerId, gatewayPaymentId, invoice.Id, $"Invoice {invoice.Number}", cancellationToken);
            if (view.Payment.Status != PaymentStatus.Succeeded)
            {
                continue;
            }

            if (view.Payment.Refundable >= amount)
            {
                return view;
            }

            most = Math.Max(most, view.Payment.Refundable);
        }

        throw DomainValidationException.For("amount",
            $"Exceeds what a payment of this invoice can still refund ({most}), counting refunds made outside credit notes. A refund credit note refunds one payment: issue one per payment.");
    }

    private async Task<string?> IssuedForAsync(string customerId, string requestKey, string requestHash, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<CreditNoteRequestEntry>(customerId, RequestRow(requestKey), cancellationToken) is not { } entry)
        {
            return null;
        }

        return string.Equals(entry.Value.RequestHash, requestHash, StringComparison.Ordinal)
            ? entry.Value.CreditNoteId
            : throw new InvalidStateException("This Idempotency-Key was used for a different credit note request.", "idempotency_key_reused");
    }

    private async Task<DateTimeOffset> NowAsync(string customerId, CancellationToken cancellationToken) =>
        await billingClock.ClockIdOfAsync(customerId, cancellationToken) is not null ? await billingClock.NowForAsync(customerId, cancellationToken) : clock.GetUtcNow();

    [LoggerMessage(Level = LogLevel.Information, Message = "Credit note {CreditNoteId}: refund {Status} (check {Check})")]
    private static partial void LogSettled(ILogger logger, string creditNoteId, string status, int check);

    [LoggerMessage(Level = LogLevel.Error, Message = "Credit note {CreditNoteId}: refund still pending after {Check} checks; needs a person")]
    private static partial void LogStuck(ILogger logger, string creditNoteId, int check);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Credit note {CreditNoteId} voided: refund {RefundId} failed ({Reason})")]
    private static partial void LogVoided(ILogger logger, string creditNoteId, string refundId, string reason);
}
