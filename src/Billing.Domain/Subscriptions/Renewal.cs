using Billing.Domain.Invoicing;

namespace Billing.Domain.Subscriptions;

/// <summary>
/// The result of one scheduler step: the new subscription (unchanged when nothing was due), the lines to put on the
/// invoice (empty when none), why, and what to do with the invoice while collection is paused.
/// </summary>
public sealed record RenewalResult
{
    public required Subscription Subscription { get; init; }

    public IReadOnlyList<InvoiceLine> Lines { get; init; } = [];

    public BillingReason BillingReason { get; init; } = BillingReason.SubscriptionCycle;

    /// <summary>A new period started.</summary>
    public bool Renewed { get; init; }

    /// <summary>The subscription ended instead of renewing (cancel_at_period_end).</summary>
    public bool Ended { get; init; }

    /// <summary>The trial ended and the first paid period started.</summary>
    public bool TrialEnded { get; init; }

    /// <summary>A scheduled change (e.g. downgrade) took effect.</summary>
    public bool ScheduledChangeApplied { get; init; }

    /// <summary>Collection is paused: keep the invoice as a draft, or finalize and mark it uncollectible / void it.</summary>
    public PauseCollectionBehavior? CollectionPaused { get; init; }

    /// <summary>The next due action after this step, for the scheduler index.</summary>
    public ScheduledAction? NextAction => Subscription.NextAction();
}

/// <summary>
/// The renewal step a scheduler runs at <see cref="Subscription.NextAction"/>. At or after the current period end:
/// cancel_at_period_end → status canceled, ended_at = period end, nothing billed; trialing → active (trial end, first
/// paid period); otherwise the next period of the cycle (the one containing <c>now</c>) becomes current, a change
/// scheduled for its start replaces the items, and <see cref="InvoiceGenerator"/> returns everything due up to
/// <c>now</c> minus what was invoiced. Before the period end the step only resumes a collection pause that is due.
/// </summary>
public static class Renewal
{
    public static RenewalResult Advance(Subscription subscription, IEnumerable<InvoicedItem> alreadyInvoiced, IEnumerable<PendingInvoiceItem> pending,
        DateTimeOffset now, string actor = Actors.Scheduler)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var s = subscription;
        if (s.PauseCollection?.ResumesAt is { } resumes && resumes <= now)
        {
            s = s.ResumeCollection(now, actor);
        }

        if (now < s.CurrentPeriodEnd || s.Status is not (SubscriptionStatus.Trialing or SubscriptionStatus.Active or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid))
        {
            return new RenewalResult { Subscription = s };
        }

        if (s.CancelAtPeriodEnd)
        {
            s.EnsureTransition(SubscriptionStatus.Canceled);
            var ended = Subscription.Commit(s, s with
            {
                Status = SubscriptionStatus.Canceled,
                EndedAt = s.CurrentPeriodEnd,
                CancelAt = s.CurrentPeriodEnd,
                ScheduledChange = null,
                PauseCollection = null,
            }, "end_at_period_end", now, actor);
            return new RenewalResult { Subscription = ended, Ended = true };
        }

        var trialEnded = s.Status == SubscriptionStatus.Trialing;
        if (trialEnded)
        {
            s.EnsureTransition(SubscriptionStatus.Active);
        }

        var period = now < s.BillingCycleAnchor
            ? new BillingPeriod(s.CurrentPeriodEnd, s.BillingCycleAnchor)
            : BillingPeriods.PeriodContaining(s.BillingCycleAnchor, s.Interval(), now);
        var change = s.ScheduledChange is { } scheduled && scheduled.EffectiveAt <= period.Start ? scheduled : null;
        var next = Subscription.Commit(s, s with
        {
            Status = trialEnded ? SubscriptionStatus.Active : s.Status,
            CurrentPeriodStart = period.Start,
            CurrentPeriodEnd = period.End,
            Items = change?.Items ?? s.Items,
            ScheduledChange = change is null ? s.ScheduledChange : null,
        }, trialEnded ? "trial_end" : "renew", now, actor);
        var lines = InvoiceGenerator.DueLines(next, alreadyInvoiced, pending, now);
        return new RenewalResult
        {
            Subscription = next,
            Lines = lines,
            Renewed = true,
            TrialEnded = trialEnded,
            ScheduledChangeApplied = change is not null,
            CollectionPaused = next.PauseCollection?.Behavior,
        };
    }
}
