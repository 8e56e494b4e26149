using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Subscriptions;
using Billing.Domain.TestClocks;
using Billing.Functions.Notifications;
using Billing.Functions.Storage;

namespace Billing.Functions.Subscriptions;

/// <summary>
/// Applies one domain change to a stored subscription on behalf of a process (dunning, dispute policy): reload, change,
/// save with the ETag read, retry on a conflict; then schedules its next step and publishes
/// <c>customer.subscription.updated</c> (or <c>.deleted</c>). A change that returns the same value saves nothing.
/// </summary>
public sealed class SubscriptionChanger(TableInvoicingStore store, SubscriptionSchedule schedule, ICustomerStore customers, IBillingClock clock, INotifier notifier)
{
    private const int MaxAttempts = 20;

    /// <summary>Returns the subscription after the change (or as it was when nothing changed); null when it does not exist.</summary>
    public async Task<Subscription?> ApplyAsync(string customerId, string subscriptionId, Func<Subscription, DateTimeOffset, Subscription> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var customer = await customers.GetAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.GetSubscriptionAsync(customerId, subscriptionId, cancellationToken) is not { } stored)
            {
                return null;
            }

            var after = change(stored.Value, await clock.NowForAsync(customer, cancellationToken));
            if (ReferenceEquals(after, stored.Value))
            {
                return after;
            }

            var saved = await new PartitionBatch(customerId)
                .Replace(TableInvoicingStore.SubscriptionRow(subscriptionId), after, stored.ETag, TableInvoicingStore.SubscriptionColumns(after))
                .TrySubmitAsync(store.Client, cancellationToken);
            if (saved)
            {
                await schedule.ScheduleNextAsync(after, cancellationToken);
                var type = after.Status == SubscriptionStatus.Canceled ? "customer.subscription.deleted" : "customer.subscription.updated";
                await notifier.PublishAsync(type, customerId, SubscriptionResponse.From(after), $"{type}:{subscriptionId}:v{after.Version}", cancellationToken);
                return after;
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new ConcurrencyConflictException("The subscription was changed concurrently too many times.");
    }
}
