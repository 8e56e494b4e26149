namespace Billing.Domain.Scheduling;

/// <summary>
/// A step of a billing process that must happen at a future time (a renewal, a payment retry, a trial-end notice, a
/// dispute reminder): what to do (<see cref="Kind"/>), to which object, when, and the object's version when it was
/// scheduled. When it runs, the handler reloads the object and does nothing if the version moved on — so a stale or
/// duplicate timer is harmless. Items of customers on a test clock carry <see cref="ClockId"/> and run only when that
/// clock is advanced.
/// </summary>
public sealed record DueWork
{
    public required string Kind { get; init; }

    public required string CustomerId { get; init; }

    public required string TargetId { get; init; }

    public long ExpectedVersion { get; init; }

    public DateTimeOffset DueAt { get; init; }

    /// <summary>Extra discriminator when one object has several items of a kind (e.g. the retry attempt number).</summary>
    public string? Detail { get; init; }

    public string? ClockId { get; init; }

    /// <summary>
    /// Which delivery of the queue message this is (its dequeue count; 0 when run directly, e.g. by a test clock). Not
    /// stored: a redelivery (2+) follows a failed or crashed run, a first delivery may be a concurrent duplicate.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Delivery { get; init; }
}

/// <summary>The due-work index: items by due time, cheap to range-query for "everything due at or before T".</summary>
public interface IScheduleStore
{
    /// <summary>Adds the item (idempotent: scheduling the same item twice keeps one).</summary>
    Task ScheduleAsync(DueWork work, CancellationToken cancellationToken = default);

    /// <summary>Removes the item if it is still pending.</summary>
    Task CancelAsync(DueWork work, CancellationToken cancellationToken = default);

    /// <summary>Everything pending for one customer, soonest first.</summary>
    Task<IReadOnlyList<DueWork>> ListForCustomerAsync(string customerId, CancellationToken cancellationToken = default);
}
