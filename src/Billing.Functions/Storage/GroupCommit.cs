namespace Billing.Functions.Storage;

/// <summary>
/// Group commit: items handed in while earlier writes are under way wait, and the next writer takes a group of them
/// (<see cref="TakeGroup"/>) and writes them together (<see cref="CommitAsync"/>). Each caller's task completes only once
/// its item is stored, so nothing is acknowledged before it is durable. With no load an item is written at once, alone;
/// at most <c>maxSenders</c> writes are under way.
/// </summary>
public abstract class GroupCommit<T>(int maxSenders)
{
    private readonly Lock gate = new();
    private readonly List<(T Item, TaskCompletionSource Stored)> pending = [];
    private int senders;

    /// <summary>Hands <paramref name="item"/> in; completes when it is stored, or fails with the write's error.</summary>
    protected Task EnqueueAsync(T item, CancellationToken cancellationToken)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (gate)
        {
            pending.Add((item, stored));
            start = senders < maxSenders;
            if (start)
            {
                senders++;
            }
        }

        if (start)
        {
            _ = SendPendingAsync();
        }

        return stored.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Removes from <paramref name="pending"/> (oldest first, never empty) the items of the next write, and returns them.</summary>
    protected abstract List<(T Item, TaskCompletionSource Stored)> TakeGroup(List<(T Item, TaskCompletionSource Stored)> pending);

    /// <summary>Writes <paramref name="group"/> and completes each item's task; an exception fails those it left open.</summary>
    protected abstract Task CommitAsync(IReadOnlyList<(T Item, TaskCompletionSource Stored)> group);

    private async Task SendPendingAsync()
    {
        while (true)
        {
            List<(T Item, TaskCompletionSource Stored)> group;
            lock (gate)
            {
                if (pending.Count == 0)
                {
                    senders--;
                    return;
                }

                group = TakeGroup(pending);
            }

            try
            {
                await CommitAsync(group);
            }
            catch (Exception e)
            {
                group.ForEach(g => g.Stored.TrySetException(e));
            }
        }
    }
}
