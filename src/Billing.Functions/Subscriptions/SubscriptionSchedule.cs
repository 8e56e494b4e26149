using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Domain.TestClocks;

namespace Billing.Functions.Subscriptions;

/// <summary>
/// Puts a subscription's <see cref="Subscription.NextAction"/> into the due-work index (kinds <c>renewal</c>,
/// <c>trial_end</c>, <c>trial_will_end</c>, <c>incomplete_expiry</c>, <c>resume_collection</c>; target = subscription
/// id; expected version = the subscription's version; clock = the customer's test clock, if any). Scheduling is idempotent, and an item whose version is stale
/// when it runs is a no-op, so calling this after every change is safe.
/// </summary>
public sealed class SubscriptionSchedule(IScheduleStore schedule, IBillingClock clock)
{
    public static string KindName(ScheduledActionKind kind) => kind switch
    {
        ScheduledActionKind.Renew => "renewal",
        ScheduledActionKind.TrialEnd => "trial_end",
        ScheduledActionKind.TrialWillEnd => "trial_will_end",
        ScheduledActionKind.IncompleteExpiry => "incomplete_expiry",
        _ => "resume_collection",
    };

    public static DueWork? WorkFor(Subscription subscription, string? clockId = null)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return subscription.NextAction() is { } next
            ? new DueWork
            {
                Kind = KindName(next.Kind),
                CustomerId = subscription.CustomerId,
                TargetId = subscription.Id,
                ExpectedVersion = next.Version,
                DueAt = next.At,
                ClockId = clockId,
            }
            : null;
    }

    public async Task ScheduleNextAsync(Subscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (WorkFor(subscription, await clock.ClockIdOfAsync(subscription.CustomerId, cancellationToken)) is { } work)
        {
            await schedule.ScheduleAsync(work, cancellationToken);
        }
    }
}
