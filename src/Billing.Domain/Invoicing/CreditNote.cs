using Billing.Domain.Payments;

namespace Billing.Domain.Invoicing;

/// <summary>Where the value of a credit note goes.</summary>
public enum CreditNoteOutcome
{
    /// <summary>Paid invoices: money back through the payment gateway, as one refund of one of the invoice's payments (see <see cref="CreditNote.RefundThrough"/>).</summary>
    Refund,

    /// <summary>Paid invoices: credit added to the customer's balance, used by the next invoices.</summary>
    CreditBalance,

    /// <summary>Open or uncollectible invoices: lowers what is still owed.</summary>
    ReduceAmountDue,
}

/// <summary>Stripe's credit note reasons.</summary>
public enum CreditNoteReason
{
    Duplicate,
    Fraudulent,
    OrderChange,
    ProductUnsatisfactory,
}

/// <summary>Stripe's credit note statuses.</summary>
public enum CreditNoteStatus
{
    /// <summary>In effect: its amount is credited on the invoice.</summary>
    Issued,

    /// <summary>No longer in effect: its amounts were given back to the invoice (here: its refund failed). Keeps its number.</summary>
    Void,
}

/// <summary>
/// The money a refund credit note sends back: refund <see cref="Id"/> (derived from the credit note id, so every retry
/// and resume names the same refund and sends it under the same processor key <c>{refund id}:create</c>) of our payment
/// <see cref="PaymentId"/>, mirroring the refund's status.
/// </summary>
public sealed record CreditNoteRefund
{
    public required string Id { get; init; }

    public required string PaymentId { get; init; }

    public string? GatewayPaymentId { get; init; }

    public long Amount { get; init; }

    public RefundStatus Status { get; init; } = RefundStatus.Pending;

    public string? GatewayRefundId { get; init; }

    public string? FailureReason { get; init; }

    /// <summary>Succeeded, failed or canceled: the refund will not change any more.</summary>
    public bool IsSettled => Status is RefundStatus.Succeeded or RefundStatus.Failed or RefundStatus.Canceled;

    public bool HasFailed => Status is RefundStatus.Failed or RefundStatus.Canceled;
}

/// <summary>Credit for one invoice line: a positive amount up to what is left of that line's total.</summary>
public sealed record CreditNoteLineInput(string InvoiceLineId, long Amount, string? Description = null);

/// <summary>A credit note request: either <see cref="Lines"/> or a lump <see cref="Amount"/>.</summary>
public sealed record CreditNoteInput
{
    public IReadOnlyList<CreditNoteLineInput>? Lines { get; init; }

    public long? Amount { get; init; }

    public CreditNoteOutcome Outcome { get; init; }

    public CreditNoteReason? Reason { get; init; }

    public string? Memo { get; init; }
}

/// <summary>One credited line.</summary>
public sealed record CreditNoteLine
{
    public string? InvoiceLineId { get; init; }

    public required string Description { get; init; }

    /// <summary>Positive credited amount, tax included.</summary>
    public long Amount { get; init; }

    /// <summary>The tax inside <see cref="Amount"/>: <c>round(line tax × amount / line total)</c>.</summary>
    public long TaxAmount { get; init; }
}

/// <summary>
/// A document reducing what an invoice asks for after finalization, numbered <c>{invoice number}-CN-{nn}</c>.
/// Open/uncollectible invoices (pre-payment): <c>amount ≤ amount_remaining</c>, outcome <c>reduce_amount_due</c>.
/// Paid invoices (post-payment): <c>amount ≤ max(0, total) − already credited</c>; a refund also needs
/// <c>amount ≤ amount_paid − already refunded</c>. Amounts are positive minor units, tax included.
/// </summary>
public sealed record CreditNote
{
    public const string IdPrefix = "cn";

    public required string Id { get; init; }

    public required string Number { get; init; }

    public required string InvoiceId { get; init; }

    public required string CustomerId { get; init; }

    public required string Currency { get; init; }

    public IReadOnlyList<CreditNoteLine> Lines { get; init; } = [];

    public long Amount { get; init; }

    public long TaxAmount { get; init; }

    public CreditNoteOutcome Outcome { get; init; }

    public CreditNoteStatus Status { get; init; } = CreditNoteStatus.Issued;

    public DateTimeOffset? VoidedAt { get; init; }

    /// <summary>Outcome <see cref="CreditNoteOutcome.Refund"/> only: the refund that sends the money back.</summary>
    public CreditNoteRefund? Refund { get; init; }

    /// <summary>True when issued before the invoice was paid.</summary>
    public bool PrePayment { get; init; }

    public CreditNoteReason? Reason { get; init; }

    public string? Memo { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>
    /// Refund credit notes: sends <paramref name="result"/>'s refund amount back through <paramref name="payment"/> (a
    /// succeeded payment of the invoice). Returns the note with its refund (pending), the payment with the amount reserved
    /// (throws <see cref="InvalidStateException"/> <c>refund_exceeds_remaining</c> when the payment cannot cover it,
    /// counting every other refund of it, made here or through the refunds API), and the pending refund to record with
    /// it — all three to be saved in one transaction, so the note never exists without its reserved refund.
    /// </summary>
    public static (CreditNoteResult Result, Payment Payment, Refund Refund) RefundThrough(CreditNoteResult result, Payment payment, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(payment);
        var note = result.CreditNote;
        if (note.Outcome != CreditNoteOutcome.Refund || result.RefundAmount <= 0)
        {
            throw new InvalidOperationException($"Credit note '{note.Id}' does not refund anything.");
        }

        if (!string.Equals(payment.CustomerId, note.CustomerId, StringComparison.Ordinal) || !string.Equals(payment.Amount.Currency.Code, note.Currency, StringComparison.Ordinal))
        {
            throw new InvalidStateException($"Payment '{payment.Id}' is not a payment of this invoice's customer in {note.Currency}.", "payment_not_refundable");
        }

        var refundId = CreditNoteRefunds.RefundIdFor(note.Id);
        var reserved = payment.ReserveRefund(refundId, result.RefundAmount, now);
        var refund = new Refund
        {
            Id = refundId,
            PaymentId = payment.Id,
            CustomerId = payment.CustomerId,
            Amount = new Money(result.RefundAmount, payment.Amount.Currency),
            Reason = CreditNoteRefunds.ReasonFor(note.Reason),
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [GatewayMetadata.CreditNoteId] = note.Id },
            RequestHash = "credit_note:" + note.Id,
            Created = now,
            Updated = now,
        };
        var withRefund = note with
        {
            Refund = new CreditNoteRefund { Id = refundId, PaymentId = payment.Id, GatewayPaymentId = payment.GatewayPaymentId, Amount = result.RefundAmount },
        };
        return (result with { CreditNote = withRefund }, reserved, refund);
    }

    /// <summary>Mirrors the refund's state on the note (a settled refund never moves back: <see cref="Payments.Refund.Apply"/> guarantees it).</summary>
    public CreditNote WithRefundState(Refund refund)
    {
        ArgumentNullException.ThrowIfNull(refund);
        if (Refund is null || !string.Equals(Refund.Id, refund.Id, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Refund '{refund.Id}' is not the refund of credit note '{Id}'.");
        }

        var updated = Refund with { Status = refund.Status, GatewayRefundId = refund.GatewayRefundId ?? Refund.GatewayRefundId, FailureReason = refund.FailureReason ?? Refund.FailureReason };
        return updated == Refund ? this : this with { Refund = updated };
    }

    /// <summary>
    /// A refund credit note whose refund failed (refused by the processor, or failed after it was accepted) is voided:
    /// no money went back, so its amounts are given back to <paramref name="invoice"/> — credited and refunded amounts, and
    /// the credit per line — and the invoice can be credited again (e.g. to the customer balance). The note keeps its
    /// number and shows the failed refund. Idempotent: a void note changes nothing.
    /// </summary>
    public (CreditNote Note, Invoice Invoice) VoidForFailedRefund(Invoice invoice, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        if (Status == CreditNoteStatus.Void)
        {
            return (this, invoice);
        }

        if (Refund is not { HasFailed: true })
        {
            throw new InvalidStateException($"Credit note '{Id}' has no failed refund.", "credit_note_not_voidable");
        }

        var credited = new Dictionary<string, long>(invoice.CreditedByLine, StringComparer.Ordinal);
        foreach (var line in Lines.Where(l => l.InvoiceLineId is not null))
        {
            var left = credited.GetValueOrDefault(line.InvoiceLineId!) - line.Amount;
            if (left > 0)
            {
                credited[line.InvoiceLineId!] = left;
            }
            else
            {
                credited.Remove(line.InvoiceLineId!);
            }
        }

        var reverted = invoice with
        {
            PostPaymentCreditNotesAmount = invoice.PostPaymentCreditNotesAmount - Amount,
            RefundedAmount = invoice.RefundedAmount - Amount,
            CreditedByLine = credited,
            Version = invoice.Version + 1,
        };
        return (this with { Status = CreditNoteStatus.Void, VoidedAt = now }, reverted);
    }

    /// <summary>Issues a credit note against <paramref name="invoice"/>; throws when it is a draft or void, or the amount exceeds what can be credited.</summary>
    public static CreditNoteResult Issue(Invoice invoice, CreditNoteInput input, string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        ArgumentNullException.ThrowIfNull(input);
        invoice.EnsureStatus("credited", InvoiceStatus.Open, InvoiceStatus.Paid, InvoiceStatus.Uncollectible);
        var prePayment = invoice.Status != InvoiceStatus.Paid;
        var errors = new ValidationErrors();
        errors.AddIf(input.Lines is { Count: > 0 } == input.Amount is not null, "lines", "Give either lines or an amount.");
        errors.AddIf(prePayment && input.Outcome != CreditNoteOutcome.ReduceAmountDue, "outcome", "Unpaid invoices can only have their amount due reduced.");
        errors.AddIf(!prePayment && input.Outcome == CreditNoteOutcome.ReduceAmountDue, "outcome", "A paid invoice is credited by a refund or to the customer balance.");
        errors.AddIf(input.Memo is { Length: > 5000 }, "memo", "Must be at most 5000 characters.");
        errors.ThrowIfAny();

        var lines = new List<CreditNoteLine>();
        var credited = new Dictionary<string, long>(invoice.CreditedByLine, StringComparer.Ordinal);
        if (input.Lines is { Count: > 0 })
        {
            for (var i = 0; i < input.Lines.Count; i++)
            {
                var request = input.Lines[i];
                var line = invoice.Lines.FirstOrDefault(l => string.Equals(l.Id, request.InvoiceLineId, StringComparison.Ordinal))
                    ?? throw new NotFoundException("invoice_line", request.InvoiceLineId);
                credited.TryGetValue(line.Id, out var already);
                errors.AddIf(request.Amount <= 0 || request.Amount > line.Total - already, $"lines[{i}].amount", $"Must be between 1 and what is left of the line ({line.Total - already}).");
                var lineTax = line.TaxAmounts.Sum(t => t.Amount);
                lines.Add(new CreditNoteLine
                {
                    InvoiceLineId = line.Id,
                    Description = request.Description ?? line.Description,
                    Amount = request.Amount,
                    TaxAmount = line.Total == 0 ? 0 : Money.RoundRatio((Int128)lineTax * request.Amount, line.Total),
                });
                credited[line.Id] = already + request.Amount;
            }
        }
        else
        {
            var amount = input.Amount!.Value;
            errors.AddIf(amount <= 0, "amount", "Must be positive.");
            lines.Add(new CreditNoteLine
            {
                Description = input.Memo ?? "Credit",
                Amount = amount,
                TaxAmount = invoice.Total <= 0 ? 0 : Money.RoundRatio((Int128)invoice.TotalTax * amount, invoice.Total),
            });
        }

        errors.ThrowIfAny();
        var total = lines.Sum(l => l.Amount);
        if (prePayment)
        {
            if (total > invoice.AmountRemaining)
            {
                throw DomainValidationException.For("amount", $"Exceeds the amount remaining ({invoice.AmountRemaining}).");
            }
        }
        else
        {
            var creditable = Math.Max(0, invoice.Total) - invoice.PrePaymentCreditNotesAmount - invoice.PostPaymentCreditNotesAmount;
            if (total > creditable)
            {
                throw DomainValidationException.For("amount", $"Exceeds what can still be credited on this invoice ({creditable}).");
            }

            if (input.Outcome == CreditNoteOutcome.Refund && total > invoice.AmountPaid - invoice.RefundedAmount)
            {
                throw DomainValidationException.For("amount", $"Exceeds the amount paid not yet refunded ({invoice.AmountPaid - invoice.RefundedAmount}).");
            }
        }

        var count = invoice.CreditNoteCount + 1;
        var note = new CreditNote
        {
            Id = id,
            Number = $"{invoice.Number}-CN-{count:D2}",
            InvoiceId = invoice.Id,
            CustomerId = invoice.CustomerId,
            Currency = invoice.Currency,
            Lines = lines,
            Amount = total,
            TaxAmount = lines.Sum(l => l.TaxAmount),
            Outcome = input.Outcome,
            PrePayment = prePayment,
            Reason = input.Reason,
            Memo = input.Memo,
            Created = now,
        };
        var updated = invoice with { CreditNoteCount = count, CreditedByLine = credited, Version = invoice.Version + 1 };
        if (prePayment)
        {
            var remaining = invoice.AmountRemaining - total;
            updated = updated with
            {
                PrePaymentCreditNotesAmount = invoice.PrePaymentCreditNotesAmount + total,
                AmountDue = invoice.AmountDue - total,
                AmountRemaining = remaining,
                Status = remaining == 0 ? InvoiceStatus.Paid : invoice.Status,
                PaidAt = remaining == 0 ? now : invoice.PaidAt,
            };
            return new CreditNoteResult(note, updated, 0, 0);
        }

        updated = updated with
        {
            PostPaymentCreditNotesAmount = invoice.PostPaymentCreditNotesAmount + total,
            RefundedAmount = invoice.RefundedAmount + (input.Outcome == CreditNoteOutcome.Refund ? total : 0),
        };
        return input.Outcome == CreditNoteOutcome.Refund
            ? new CreditNoteResult(note, updated, total, 0)
            : new CreditNoteResult(note, updated, 0, -total);
    }
}

/// <summary>Refund credit notes: the refund of one payment that carries the money back, and what happens when it fails.</summary>
public static class CreditNoteRefunds
{
    /// <summary>The refund of credit note <paramref name="creditNoteId"/>: one id whoever derives it.</summary>
    public static string RefundIdFor(string creditNoteId) => Ids.Derive(Payments.Refund.IdPrefix, creditNoteId, "refund");

    /// <summary>Stripe's refund reason for a credit note reason (the ones Stripe has no refund reason for are the customer's request).</summary>
    public static RefundReason ReasonFor(CreditNoteReason? reason) => reason switch
    {
        CreditNoteReason.Duplicate => RefundReason.Duplicate,
        CreditNoteReason.Fraudulent => RefundReason.Fraudulent,
        _ => RefundReason.RequestedByCustomer,
    };
}

/// <summary>
/// The credit note, the invoice it changed, the amount to refund through the gateway, and the change to the customer's
/// balance (negative = credit added, Stripe's convention).
/// </summary>
public sealed record CreditNoteResult(CreditNote CreditNote, Invoice Invoice, long RefundAmount, long CustomerBalanceChange);
