using Billing.Domain.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Triggers;

namespace Billing.Functions.Scheduling;

/// <summary>
/// Moves due items from the index to the <c>work-items</c> queue: per shard in parallel, enqueue first, then remove the
/// rows (a crash in between only re-enqueues, which the handlers ignore). Up to <see cref="ItemsPerMessage"/> items of
/// a shard travel in one message (<see cref="WorkItemsMessage"/>): a queue send, receive and delete cost more on
/// Storage than a table write, and this is most of a burst's queue traffic. It keeps the queue's backlog under
/// <see cref="MaxBacklog"/> messages (Azurite's and Storage's receive slows as a queue grows), so a burst of 10,000
/// renewals is fed to consumers as fast as they drain it, within the tick's time budget.
/// </summary>
public sealed partial class DueWorkSweeper(TableScheduleStore schedule, StorageClients storage, Telemetry.BillingMetrics metrics, TimeProvider clock, ILogger<DueWorkSweeper> logger)
{
    public const int MaxBacklog = 1000;

    /// <summary>Due items per queue message, handled one after another by one invocation.</summary>
    public const int ItemsPerMessage = 8;

    private const int Batch = 100;

    /// <summary>Sweeps items due at or before <paramref name="now"/>; returns how many were queued.</summary>
    public async Task<int> SweepAsync(DateTimeOffset now, TimeSpan budget, CancellationToken cancellationToken = default)
    {
        var queue = storage.Queue(WorkItemsFunction.Queue);
        var deadline = clock.GetUtcNow() + budget;
        var before = now.AddMilliseconds(1);
        var total = 0;
        var shards = Enumerable.Range(0, TableScheduleStore.Shards).Select(TableScheduleStore.ShardPartition).ToList();
        while (shards.Count > 0 && clock.GetUtcNow() < deadline)
        {
            var backlog = (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
            var room = MaxBacklog - backlog;
            if (room <= 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), clock, cancellationToken);
                continue;
            }

            var perShard = Math.Max(1, Math.Min(Batch, room * ItemsPerMessage / shards.Count));
            var results = await Task.WhenAll(shards.Select(async partition =>
            {
                var due = await schedule.ListDueAsync(partition, before, perShard, cancellationToken);
                await Task.WhenAll(due.Chunk(ItemsPerMessage).Select(chunk => queue.SendMessageAsync(WorkItemsMessage.Serialize([.. chunk.Select(d => d.Work)]), cancellationToken)));
                await schedule.RemoveAsync([.. due.Select(d => d.Row)], cancellationToken);
                return (partition, count: due.Count, more: due.Count == perShard);
            }));
            total += results.Sum(r => r.count);
            shards = [.. results.Where(r => r.more).Select(r => r.partition)];
        }

        metrics.DueWorkBacklog(total);
        if (total > 0)
        {
            LogSwept(logger, total);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued {Count} due work items")]
    private static partial void LogSwept(ILogger logger, int count);
}

public static class SchedulingRegistration
{
    public static IServiceCollection AddScheduling(this IServiceCollection services)
    {
        services.AddSingleton<TableScheduleStore>();
        services.AddSingleton<IScheduleStore>(sp => sp.GetRequiredService<TableScheduleStore>());
        services.AddSingleton<DueWorkSweeper>();
        services.AddSingleton<WorkDispatcher>();
        services.AddSingleton(new StorageResource(StorageResourceKind.Table, TableScheduleStore.TableName));
        services.AddTimerFunction<BillingClockFunction>(BillingClockFunction.Name);
        services.AddQueueFunction<WorkItemsFunction>(WorkItemsFunction.Name, WorkItemsFunction.Queue);
        return services;
    }
}
