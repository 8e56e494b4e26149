using Billing.Domain.Customers;

namespace Billing.Domain.TestClocks;

/// <summary>
/// "Now" for billing a customer: the real clock, or the frozen time of the customer's test clock. Every step that
/// acts for a customer (creating a subscription, renewing, retrying a payment) takes its time from here, and
/// <see cref="ClockIdOf"/> tells the scheduler which due-work partition the customer's timers belong to.
/// </summary>
public interface IBillingClock
{
    Task<DateTimeOffset> NowForAsync(Customer customer, CancellationToken cancellationToken = default);

    string? ClockIdOf(Customer customer);

    /// <summary>"Now" for the customer with this id (throws <see cref="NotFoundException"/> when there is none).</summary>
    Task<DateTimeOffset> NowForAsync(string customerId, CancellationToken cancellationToken = default);

    /// <summary>The test clock of the customer with this id, if any (null when there is no such customer).</summary>
    Task<string?> ClockIdOfAsync(string customerId, CancellationToken cancellationToken = default);
}
