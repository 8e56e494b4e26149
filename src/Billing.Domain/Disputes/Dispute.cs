namespace Billing.Domain.Disputes;

/// <summary>
/// A chargeback or inquiry on one of our payments, as Stripe reports it, plus what we do about it: the evidence the
/// merchant stages, the reminders before <see cref="EvidenceDueBy"/>, and the outcome. Disputes cost twice — the amount
/// and the fee — and a missed deadline loses by default, so the deadline is driven durably.
/// </summary>
/// <remarks>
/// <para><b>Statuses</b> are Stripe's: inquiries <c>warning_needs_response</c> → <c>warning_under_review</c> →
/// <c>warning_closed</c> (or they become chargebacks); chargebacks <c>needs_response</c> → <c>under_review</c> →
/// <c>won</c> / <c>lost</c>; <c>prevented</c> when the network stopped it before it was filed. A status this code does not
/// know (such as a later appeal or second-round state) is kept verbatim and treated as open, never dropped.</para>
/// <para><b>Convergence.</b> Webhooks arrive in any order and more than once. Each carries Stripe's full object, applied as
/// a snapshot: a snapshot older than the last applied one is ignored unless it moves the dispute further along
/// (open → under review → closed). So any order of delivery ends in the state of the newest snapshot.</para>
/// </remarks>
public sealed record Dispute
{
    public const string IdPrefix = "dsp";

    public required string Id { get; init; }

    public required string StripeDisputeId { get; init; }

    public string? ChargeId { get; init; }

    public string? PaymentIntentId { get; init; }

    /// <summary>Our payment, when we know it; null for a payment made outside this backend (then <see cref="Unlinked"/>).</summary>
    public string? PaymentId { get; init; }

    public string? InvoiceId { get; init; }

    public string? CustomerId { get; init; }

    public string? SubscriptionId { get; init; }

    /// <summary>True when the disputed payment is not one of ours: kept and flagged for the merchant, never dropped.</summary>
    public bool Unlinked { get; init; }

    public required Money Amount { get; init; }

    public required string Reason { get; init; }

    public required string Status { get; init; }

    /// <summary>When evidence must be in; null when no response is possible (Stripe sends 0).</summary>
    public DateTimeOffset? EvidenceDueBy { get; init; }

    public IReadOnlyDictionary<string, string> StagedEvidence { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public int SubmissionCount { get; init; }

    public DateTimeOffset? SubmittedAt { get; init; }

    /// <summary>Minor units withdrawn from the balance (amount + fee), and given back, per Stripe's balance transactions.</summary>
    public long FundsWithdrawn { get; init; }

    public long FundsReinstated { get; init; }

    /// <summary>Reminder times already sent (each is <see cref="EvidenceDueBy"/> minus a configured offset).</summary>
    public IReadOnlyList<DateTimeOffset> RemindersSent { get; init; } = [];

    public DeadlineStatus DeadlineStatus { get; init; }

    public DateTimeOffset? NextReminderAt { get; init; }

    /// <summary>When Stripe's newest applied snapshot was produced (the event's <c>created</c>).</summary>
    public DateTimeOffset LastSnapshotAt { get; init; }

    public bool Accepted { get; init; }

    public long Version { get; init; }

    public DateTimeOffset Created { get; init; }

    public bool IsInquiry => Status.StartsWith("warning_", StringComparison.Ordinal);

    public bool IsClosed => Status is "won" or "lost" or "warning_closed" or "prevented";

    /// <summary>Evidence may still be staged and submitted.</summary>
    public bool AwaitsResponse => Status is "needs_response" or "warning_needs_response" && SubmissionCount == 0 && EvidenceDueBy is not null;

    /// <summary>The outcome once closed: won, lost, prevented or warning_closed.</summary>
    public string? Outcome => IsClosed ? Status : null;

    public static Dispute FromStripe(DisputeSnapshot snapshot, DisputeLinks links, string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(links);
        var dispute = new Dispute
        {
            Id = id,
            StripeDisputeId = snapshot.StripeDisputeId,
            ChargeId = snapshot.ChargeId,
            PaymentIntentId = snapshot.PaymentIntentId,
            PaymentId = links.PaymentId,
            InvoiceId = links.InvoiceId,
            CustomerId = links.CustomerId,
            SubscriptionId = links.SubscriptionId,
            Unlinked = links.PaymentId is null,
            Amount = snapshot.Amount,
            Reason = snapshot.Reason,
            Status = snapshot.Status,
            EvidenceDueBy = snapshot.EvidenceDueBy,
            FundsWithdrawn = snapshot.FundsWithdrawn,
            FundsReinstated = snapshot.FundsReinstated,
            SubmissionCount = snapshot.SubmissionCount,
            LastSnapshotAt = snapshot.ObservedAt,
            Created = now,
            Version = 1,
        };
        return dispute with { DeadlineStatus = dispute.ComputeDeadlineStatus(now) };
    }

    /// <summary>Applies Stripe's object from a webhook or a re-read; returns this instance when the snapshot is stale.</summary>
    public Dispute Apply(DisputeSnapshot snapshot, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var newer = snapshot.ObservedAt >= LastSnapshotAt;
        var further = Rank(snapshot.Status) > Rank(Status);
        if (!newer && !further)
        {
            return this;
        }

        var updated = this with
        {
            Status = newer || further ? snapshot.Status : Status,
            Reason = newer ? snapshot.Reason : Reason,
            Amount = newer ? snapshot.Amount : Amount,
            EvidenceDueBy = newer ? snapshot.EvidenceDueBy : EvidenceDueBy,
            FundsWithdrawn = Math.Max(FundsWithdrawn, snapshot.FundsWithdrawn),
            FundsReinstated = Math.Max(FundsReinstated, snapshot.FundsReinstated),
            SubmissionCount = Math.Max(SubmissionCount, snapshot.SubmissionCount),
            LastSnapshotAt = newer ? snapshot.ObservedAt : LastSnapshotAt,
            Version = Version + 1,
        };
        updated = updated with { DeadlineStatus = updated.ComputeDeadlineStatus(now) };
        return updated == this with { Version = Version + 1 } ? this : updated;
    }

    /// <summary>Stages evidence fields without submitting (Stripe's <c>submit=false</c>); an empty value removes a field.</summary>
    public Dispute StageEvidence(IReadOnlyDictionary<string, string?> fields, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fields);
        EnsureAwaitingResponse("stage evidence for");
        var merged = new Dictionary<string, string>(StagedEvidence, StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            if (string.IsNullOrEmpty(value))
            {
                merged.Remove(name);
            }
            else
            {
                merged[name] = value;
            }
        }

        DisputeEvidence.Validate(fields, merged);
        var updated = this with { StagedEvidence = merged, Version = Version + 1 };
        return updated with { DeadlineStatus = updated.ComputeDeadlineStatus(now) };
    }

    /// <summary>Marks the staged evidence submitted (once). The caller sends it to Stripe with <c>submit=true</c>.</summary>
    public Dispute MarkSubmitted(DateTimeOffset now, bool automatically = false)
    {
        EnsureAwaitingResponse("submit evidence for");
        if (StagedEvidence.Count == 0)
        {
            throw DomainValidationException.For("evidence", "Stage at least one evidence field before submitting.");
        }

        return this with
        {
            SubmissionCount = SubmissionCount + 1,
            SubmittedAt = now,
            Status = IsInquiry ? "warning_under_review" : "under_review",
            DeadlineStatus = automatically ? DeadlineStatus.AutoSubmitted : DeadlineStatus.Submitted,
            NextReminderAt = null,
            Version = Version + 1,
        };
    }

    /// <summary>Accepts the dispute (irreversible): the merchant concedes and it closes as lost.</summary>
    public Dispute Accept(DateTimeOffset now)
    {
        if (IsClosed || Status is "under_review" or "warning_under_review")
        {
            throw new InvalidStateException($"Dispute '{Id}' is {Status}; only an open dispute can be accepted.", "dispute_not_open");
        }

        return this with { Status = IsInquiry ? "warning_closed" : "lost", Accepted = true, DeadlineStatus = DeadlineStatus.Closed, NextReminderAt = null, Version = Version + 1 };
    }

    /// <summary>Records that a reminder was sent for <paramref name="reminderAt"/>.</summary>
    public Dispute RecordReminder(DateTimeOffset reminderAt, IReadOnlyList<TimeSpan> offsets, DateTimeOffset now) =>
        RemindersSent.Contains(reminderAt) ? this : (this with { RemindersSent = [.. RemindersSent, reminderAt], Version = Version + 1 }).WithNextReminder(offsets, now);

    /// <summary>Records that the deadline passed without evidence being submitted.</summary>
    public Dispute RecordDeadlinePassed() =>
        DeadlineStatus == DeadlineStatus.PassedUnanswered ? this : this with { DeadlineStatus = DeadlineStatus.PassedUnanswered, NextReminderAt = null, Version = Version + 1 };

    /// <summary>Sets <see cref="NextReminderAt"/> to the earliest reminder (due − offset) not yet sent that is still ahead.</summary>
    public Dispute WithNextReminder(IReadOnlyList<TimeSpan> offsets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        var next = AwaitsResponse
            ? ReminderTimes(offsets).Where(t => !RemindersSent.Contains(t) && t > now).Order().Cast<DateTimeOffset?>().FirstOrDefault()
            : null;
        return next == NextReminderAt ? this : this with { NextReminderAt = next };
    }

    /// <summary>Reminder instants for <paramref name="offsets"/> before the deadline.</summary>
    public IEnumerable<DateTimeOffset> ReminderTimes(IReadOnlyList<TimeSpan> offsets) =>
        EvidenceDueBy is { } due ? offsets.Select(o => due - o) : [];

    /// <summary>0 open, 1 under review, 2 closed — how far along a status is.</summary>
    public static int Rank(string status) => status switch
    {
        "won" or "lost" or "warning_closed" or "prevented" => 2,
        "under_review" or "warning_under_review" => 1,
        _ => 0,
    };

    private DeadlineStatus ComputeDeadlineStatus(DateTimeOffset now) => this switch
    {
        { IsClosed: true } => DeadlineStatus.Closed,
        { DeadlineStatus: DeadlineStatus.AutoSubmitted } => DeadlineStatus.AutoSubmitted,
        { SubmissionCount: > 0 } or { Status: "under_review" or "warning_under_review" } => DeadlineStatus.Submitted,
        { EvidenceDueBy: null } => DeadlineStatus.NotApplicable,
        { EvidenceDueBy: { } due } when due <= now => DeadlineStatus.PassedUnanswered,
        _ => DeadlineStatus.Pending,
    };

    private void EnsureAwaitingResponse(string action)
    {
        if (!AwaitsResponse)
        {
            throw new InvalidStateException(
                SubmissionCount > 0 ? $"Evidence for dispute '{Id}' was already submitted." : $"Cannot {action} dispute '{Id}' in status {Status}.",
                SubmissionCount > 0 ? "evidence_already_submitted" : "dispute_not_open");
        }
    }
}

/// <summary>Where a dispute's evidence deadline stands.</summary>
public enum DeadlineStatus
{
    /// <summary>No response is possible (Stripe's <c>evidence_due_by</c> is 0).</summary>
    NotApplicable,

    /// <summary>Waiting for evidence; the deadline is ahead.</summary>
    Pending,

    /// <summary>Evidence submitted by the merchant.</summary>
    Submitted,

    /// <summary>Staged evidence was submitted automatically at the deadline.</summary>
    AutoSubmitted,

    /// <summary>The deadline passed with nothing submitted.</summary>
    PassedUnanswered,

    /// <summary>The dispute is closed.</summary>
    Closed,
}

/// <summary>Stripe's dispute object, reduced to what we keep; <see cref="ObservedAt"/> is the event's creation time.</summary>
public sealed record DisputeSnapshot(
    string StripeDisputeId,
    string? ChargeId,
    string? PaymentIntentId,
    Money Amount,
    string Reason,
    string Status,
    DateTimeOffset? EvidenceDueBy,
    int SubmissionCount,
    long FundsWithdrawn,
    long FundsReinstated,
    DateTimeOffset ObservedAt);

/// <summary>What the dispute belongs to on our side, when we know the payment.</summary>
public sealed record DisputeLinks(string? PaymentId, string? InvoiceId, string? CustomerId, string? SubscriptionId);
