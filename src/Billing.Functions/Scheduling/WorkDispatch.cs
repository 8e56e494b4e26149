using System.Text.Json;
using Billing.Domain.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Triggers;

namespace Billing.Functions.Scheduling;

/// <summary>
/// Does one kind of due work. Must be idempotent and guard on state/version: reload the object, return without effect
/// when <see cref="DueWork.ExpectedVersion"/> no longer matches or the step was already done, write intent before a side
/// effect and outcome after it, and schedule the next step.
/// </summary>
public interface IWorkHandler
{
    string Kind { get; }

    Task HandleAsync(DueWork work, CancellationToken cancellationToken);
}

/// <summary>Routes a work item to the handler of its kind.</summary>
public sealed class WorkDispatcher(IEnumerable<IWorkHandler> handlers)
{
    private readonly Dictionary<string, IWorkHandler> byKind = handlers.ToDictionary(h => h.Kind, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Kinds => byKind.Keys;

    public Task DispatchAsync(DueWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return byKind.TryGetValue(work.Kind, out var handler)
            ? handler.HandleAsync(work, cancellationToken)
            : throw new InvalidOperationException($"No handler for work kind '{work.Kind}'.");
    }
}

/// <summary>
/// The <c>WorkItems</c> queue function: one message = one <see cref="DueWork"/> or several
/// (<see cref="WorkItemsMessage"/>), each dispatched by kind, one after another (<see cref="QueueMessage.HandleEachAsync"/>).
/// </summary>
public sealed class WorkItemsFunction(WorkDispatcher dispatcher) : IQueueFunction
{
    public const string Queue = "work-items";

    public const string Name = "WorkItems";

    public string FunctionName => Name;

    public string QueueName => Queue;

    public Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var delivery = (int)Math.Min(int.MaxValue, message.DequeueCount);
        return QueueMessage.HandleEachAsync(WorkItemsMessage.Parse(message.Text), work => dispatcher.DispatchAsync(work with { Delivery = delivery }, cancellationToken), cancellationToken);
    }
}

/// <summary>The text of a <c>work-items</c> message: one <see cref="DueWork"/> as a JSON object, or several as an array.</summary>
public static class WorkItemsMessage
{
    public static string Serialize(IReadOnlyList<DueWork> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return items.Count == 1 ? JsonSerializer.Serialize(items[0], StorageJson.Options) : JsonSerializer.Serialize(items, StorageJson.Options);
    }

    /// <summary>The items of a message; throws <see cref="JsonException"/> when it holds none.</summary>
    public static IReadOnlyList<DueWork> Parse(string text)
    {
        IReadOnlyList<DueWork?> items = text.TrimStart().StartsWith('[')
            ? JsonSerializer.Deserialize<DueWork?[]>(text, StorageJson.Options) ?? []
            : [JsonSerializer.Deserialize<DueWork>(text, StorageJson.Options)];
        return items.Count > 0 && items.All(i => i is not null) ? [.. items.OfType<DueWork>()] : throw new JsonException("Empty work item.");
    }
}

/// <summary>The <c>BillingClock</c> timer function (every minute): moves everything due from the index to the work queue.</summary>
public sealed class BillingClockFunction(DueWorkSweeper sweeper, TimeProvider clock) : ITimerFunction
{
    public const string Name = "BillingClock";

    public string FunctionName => Name;

    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken cancellationToken)
    {
        var moved = await sweeper.SweepAsync(clock.GetUtcNow(), TimeSpan.FromSeconds(50), cancellationToken);
        return [$"BillingClock: queued {moved} due work items"];
    }
}
