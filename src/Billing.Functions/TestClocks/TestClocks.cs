using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.TestClocks;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;

namespace Billing.Functions.TestClocks;

/// <summary>Test clocks are for test mode and demos; production configuration leaves them off.</summary>
public sealed class TestClockOptions
{
    public const string Section = "TestClocks";

    public bool Enabled { get; set; }
}

/// <summary>Test clocks in the <c>Billing</c> table, partition <c>test-clocks</c>, newest first.</summary>
public sealed class TestClockStore(StorageClients clients)
{
    private const string Partition = "test-clocks";
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public async Task<TestClock?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, TestClock.IdPrefix) && await table.GetAsync<TestClock>(Partition, Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public Task CreateAsync(TestClock clock, CancellationToken cancellationToken = default) =>
        table.InsertAsync(Partition, Keys.Descending(clock.Id), clock, cancellationToken: cancellationToken);

    public Task<TestClock> UpdateAsync(string id, Func<TestClock, TestClock> change, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, TestClock.IdPrefix)
            ? table.UpdateAsync(Partition, Keys.Descending(id), "test clock", change, cancellationToken: cancellationToken)
            : throw new NotFoundException("test clock", id);

    public Task<ListPage<TestClock>> ListAsync(int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        table.ListAsync<TestClock>(Partition, TestClock.IdPrefix + "_", startingAfter is null ? null : Keys.Descending(startingAfter), limit, cancellationToken: cancellationToken);
}

/// <summary>
/// Real time, or the customer's test-clock time. A customer's test clock is fixed when the customer is created, so which
/// clock (or none) a customer id uses is remembered after the first read: billing steps ask for "now" several times per
/// renewal, and without this each ask read the customer row again.
/// </summary>
public sealed class BillingClock(TestClockStore clocks, ICustomerStore customers, TimeProvider time) : IBillingClock
{
    private const int MaxRemembered = 8_192;
    private readonly Storage.BoundedMemo<string, string> clockOf = new(MaxRemembered);

    public async Task<DateTimeOffset> NowForAsync(Customer customer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customer);
        Remember(customer);
        return await NowOnAsync(customer.TestClockId, cancellationToken);
    }

    public string? ClockIdOf(Customer customer)
    {
        ArgumentNullException.ThrowIfNull(customer);
        return customer.TestClockId;
    }

    public async Task<DateTimeOffset> NowForAsync(string customerId, CancellationToken cancellationToken = default) =>
        await NowOnAsync(await BindingAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId), cancellationToken);

    public async Task<string?> ClockIdOfAsync(string customerId, CancellationToken cancellationToken = default) =>
        await BindingAsync(customerId, cancellationToken) is { Length: > 0 } clockId ? clockId : null;

    private async Task<DateTimeOffset> NowOnAsync(string? clockId, CancellationToken cancellationToken) =>
        !string.IsNullOrEmpty(clockId) && await clocks.GetAsync(clockId, cancellationToken) is { } clock ? clock.FrozenTime : time.GetUtcNow();

    /// <summary>The customer's clock id, "" for real time, null when there is no such customer.</summary>
    private async Task<string?> BindingAsync(string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        if (clockOf.TryGet(customerId, out var known))
        {
            return known;
        }

        var customer = await customers.GetAsync(customerId, cancellationToken);
        return customer is null ? null : Remember(customer);
    }

    private string Remember(Customer customer)
    {
        var binding = customer.TestClockId ?? "";
        clockOf.Set(customer.Id, binding); // bounded: the least recently set are forgotten, and the next asks read the rows again
        return binding;
    }
}

/// <summary>
/// Advances a test clock: takes the next item due on the clock, moves the clock to that item's due time, runs it (so the
/// handler sees the time it was due at), removes it, and repeats — including items scheduled while advancing — until
/// nothing is due at or before the target; then the clock stops at the target.
/// </summary>
public sealed class TestClockAdvancer(TestClockStore clocks, TableScheduleStore schedule, WorkDispatcher dispatcher)
{
    public async Task<(TestClock Clock, int Ran)> AdvanceAsync(string id, DateTimeOffset? target, CancellationToken cancellationToken = default)
    {
        var clock = await clocks.GetAsync(id, cancellationToken) ?? throw new NotFoundException("test clock", id);
        var to = clock.ValidateAdvance(target);
        await clocks.UpdateAsync(id, c => c with { Status = c.Status == "ready" ? "advancing" : throw new InvalidStateException($"Test clock '{id}' is already advancing.", "test_clock_advancing") }, cancellationToken);
        var ran = 0;
        try
        {
            var partition = TableScheduleStore.ClockPartition(id);
            while (await schedule.ListDueAsync(partition, to.AddMilliseconds(1), 1, cancellationToken) is [var (work, row)])
            {
                await clocks.UpdateAsync(id, c => work.DueAt > c.FrozenTime ? c with { FrozenTime = work.DueAt } : c, cancellationToken);
                await dispatcher.DispatchAsync(work, cancellationToken);
                await schedule.RemoveAsync([row], cancellationToken);
                ran++;
            }

            return (await clocks.UpdateAsync(id, c => c with { FrozenTime = to, Status = "ready" }, CancellationToken.None), ran);
        }
        catch
        {
            await clocks.UpdateAsync(id, c => c with { Status = "ready" }, CancellationToken.None);
            throw;
        }
    }
}
