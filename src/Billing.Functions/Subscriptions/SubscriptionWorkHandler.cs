using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Functions.Scheduling;

namespace Billing.Functions.Subscriptions;

/// <summary>Runs one kind of scheduled subscription step (see <see cref="SubscriptionService.RunScheduledAsync"/>).</summary>
public sealed class SubscriptionWorkHandler(string kind, SubscriptionService service) : IWorkHandler
{
    public static readonly IReadOnlyList<string> Kinds =
        [.. Enum.GetValues<ScheduledActionKind>().Select(SubscriptionSchedule.KindName)];

    public string Kind => kind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken) => service.RunScheduledAsync(work, cancellationToken);
}
