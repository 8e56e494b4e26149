using Azure.Storage.Queues;

namespace Billing.Functions.Storage;

/// <summary>
/// Group commit for queue sends: items handed in while earlier sends are under way travel together in the next message
/// (a JSON array of up to <c>maxItems</c> items; a lone item is sent as it is), and each caller's task completes only
/// once the message holding its item is stored, so nothing is acknowledged before it is durable. With no load an item is
/// sent at once, alone; under load a message carries what arrived during the sends before it. A queue send costs
/// Storage (and Azurite) more than a table write, so this is what lets the Stripe webhook take events faster than one
/// send each would allow. A failed send fails every caller whose item it held (each answers 500, and Stripe retries).
/// </summary>
public sealed class QueueGroupSender(QueueClient queue, int maxItems = 32, int maxSenders = 2) : GroupCommit<string>(maxSenders)
{
    /// <summary>Queues <paramref name="item"/> (one JSON value); completes when it is stored.</summary>
    public Task SendAsync(string item, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        return EnqueueAsync(item, cancellationToken);
    }

    /// <summary>The text of a message holding <paramref name="items"/> (JSON values): the item itself, or an array.</summary>
    public static string Compose(IReadOnlyList<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return items.Count == 1 ? items[0] : "[" + string.Join(",", items) + "]";
    }

    protected override List<(string Item, TaskCompletionSource Stored)> TakeGroup(List<(string Item, TaskCompletionSource Stored)> pending)
    {
        var n = Math.Min(maxItems, pending.Count);
        var group = pending.GetRange(0, n);
        pending.RemoveRange(0, n);
        return group;
    }

    protected override async Task CommitAsync(IReadOnlyList<(string Item, TaskCompletionSource Stored)> group)
    {
        await queue.SendMessageAsync(Compose([.. group.Select(b => b.Item)]), CancellationToken.None);
        foreach (var item in group)
        {
            item.Stored.TrySetResult();
        }
    }
}
