using Billing.Domain.Payments;

namespace Billing.Domain.Invoicing;

/// <summary>Where an invoice's dunning (the retries after a failed collection) stands.</summary>
public enum DunningStatus
{
    /// <summary>A retry is scheduled at <see cref="DunningState.NextAttemptAt"/>.</summary>
    Scheduled,

    /// <summary>The last decline needs the customer (authenticate, new card): no automatic retry; <c>/pay</c> may succeed.</summary>
    AwaitingCustomer,

    /// <summary>The invoice was paid while in dunning (by a retry, <c>/pay</c> or a webhook).</summary>
    Recovered,

    /// <summary>No retry left (or a hard decline): the configured outcome was applied.</summary>
    Exhausted,

    /// <summary>Stopped from outside (a dispute, the invoice voided or marked uncollectible).</summary>
    Stopped,
}

/// <summary>
/// The dunning of one invoice: <see cref="Attempt"/> retries made out of <see cref="Of"/> planned, retry <c>n</c>
/// due at <see cref="StartedAt"/> + <c>RetryDays[n − 1]</c> (days after the first failure). A retry in flight is
/// <see cref="InFlight"/> with the invoice payment attempt number it uses (<see cref="PaymentAttempt"/>), so a crash
/// repeats that attempt (same idempotency key) instead of starting another. Pending retry work items carry their
/// retry number and are no-ops unless the state still expects exactly that retry.
/// </summary>
public sealed record DunningState
{
    public DunningStatus Status { get; init; }

    /// <summary>Retries made so far (0 after the failure that started dunning).</summary>
    public int Attempt { get; init; }

    /// <summary>Retries planned.</summary>
    public int Of { get; init; }

    /// <summary>When the collection that started dunning failed.</summary>
    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? NextAttemptAt { get; init; }

    public string? LastDeclineCode { get; init; }

    public DeclineClass? LastDeclineClass { get; init; }

    /// <summary>Retry <see cref="Attempt"/> started and its outcome is not recorded yet.</summary>
    public bool InFlight { get; init; }

    /// <summary>The invoice payment attempt number the in-flight retry uses.</summary>
    public int? PaymentAttempt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Who stopped it (e.g. <c>dispute</c>) when <see cref="Status"/> is <see cref="DunningStatus.Stopped"/>.</summary>
    public string? StoppedBy { get; init; }

    public bool IsActive => Status is DunningStatus.Scheduled or DunningStatus.AwaitingCustomer;

    /// <summary>
    /// Dunning after the first failed collection at <paramref name="at"/>: a hard decline (<see cref="DeclineClass.NeverRetry"/>)
    /// or an empty schedule is exhausted at once; a decline that needs the customer waits; anything else schedules retry 1.
    /// </summary>
    public static DunningState Start(DateTimeOffset at, string? declineCode, DeclineClass? declineClass, IReadOnlyList<int> retryDays)
    {
        ArgumentNullException.ThrowIfNull(retryDays);
        return Next(new DunningState { StartedAt = at, Of = retryDays.Count }, 0, at, declineCode, declineClass, retryDays);
    }

    /// <summary>Marks retry <paramref name="number"/> as started with invoice payment attempt <paramref name="paymentAttempt"/>.</summary>
    public DunningState BeginRetry(int number, int paymentAttempt) =>
        this with { Attempt = number, InFlight = true, PaymentAttempt = paymentAttempt, NextAttemptAt = null };

    /// <summary>Retry <see cref="Attempt"/> failed at <paramref name="at"/>: schedules the next one, waits for the customer, or is exhausted.</summary>
    public DunningState RetryFailed(DateTimeOffset at, string? declineCode, DeclineClass? declineClass, IReadOnlyList<int> retryDays)
    {
        ArgumentNullException.ThrowIfNull(retryDays);
        return Next(this with { InFlight = false, PaymentAttempt = null }, Attempt, at, declineCode, declineClass, retryDays);
    }

    public DunningState Recover(DateTimeOffset at) =>
        IsActive ? this with { Status = DunningStatus.Recovered, NextAttemptAt = null, InFlight = false, EndedAt = at } : this;

    public DunningState Stop(DateTimeOffset at, string by) =>
        IsActive ? this with { Status = DunningStatus.Stopped, NextAttemptAt = null, InFlight = false, EndedAt = at, StoppedBy = by } : this;

    /// <summary>True when a work item for retry <paramref name="number"/> should run now (or resume after a crash).</summary>
    public bool Expects(int number) =>
        Status == DunningStatus.Scheduled && (InFlight ? Attempt == number : Attempt + 1 == number);

    private static DunningState Next(DunningState state, int made, DateTimeOffset at, string? declineCode, DeclineClass? declineClass, IReadOnlyList<int> retryDays)
    {
        var failed = state with { Attempt = made, LastDeclineCode = declineCode, LastDeclineClass = declineClass };
        return declineClass switch
        {
            DeclineClass.NeverRetry => failed with { Status = DunningStatus.Exhausted, NextAttemptAt = null, EndedAt = at },
            DeclineClass.NeedsCustomer => failed with { Status = DunningStatus.AwaitingCustomer, NextAttemptAt = null },
            _ when made >= retryDays.Count => failed with { Status = DunningStatus.Exhausted, NextAttemptAt = null, EndedAt = at },
            _ => failed with { Status = DunningStatus.Scheduled, NextAttemptAt = Later(state.StartedAt.AddDays(retryDays[made]), at) },
        };
    }

    /// <summary>A retry is never due before the failure it follows.</summary>
    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
