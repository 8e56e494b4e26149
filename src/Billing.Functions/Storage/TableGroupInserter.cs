using Azure;
using Azure.Data.Tables;

namespace Billing.Functions.Storage;

/// <summary>
/// Group commit for inserts: rows handed in while earlier writes are under way go together in the next entity group
/// transaction of their partition (up to 100 rows and about 2 MB), and each caller's task completes only once its row is
/// stored, so nothing is acknowledged before it is durable. With no load a row is inserted at once, alone. When a
/// transaction fails (one row already there fails the whole group), or its answer is lost, its rows are inserted one by
/// one, so each caller gets its own row's answer. With <paramref name="conflictMeansStored"/> (rows keyed by fresh ids,
/// like the merchant events a renewal publishes) a row found already there was stored by that transaction or an earlier
/// try and counts as stored; without it (insert-if-absent, like Stripe's events by their id) the caller gets the 409.
/// </summary>
public sealed class TableGroupInserter(TableClient table, bool conflictMeansStored, int maxSenders = 2)
{
    private const int MaxRows = 100;
    private const long MaxBytes = 2 * 1024 * 1024; // well under the 4 MB a transaction may carry

    private readonly Lock gate = new();
    private readonly List<(TableEntity Row, TaskCompletionSource Stored)> pending = [];
    private int senders;

    /// <summary>Inserts <paramref name="row"/>; completes when it is stored, or fails with the storage error.</summary>
    public Task InsertAsync(TableEntity row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (gate)
        {
            pending.Add((row, stored));
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

    private async Task SendPendingAsync()
    {
        while (true)
        {
            var group = new List<(TableEntity Row, TaskCompletionSource Stored)>();
            lock (gate)
            {
                if (pending.Count == 0)
                {
                    senders--;
                    return;
                }

                // The oldest row's partition; its later rows join it, in order, while they fit.
                var partition = pending[0].Row.PartitionKey;
                long bytes = 0;
                var rest = new List<(TableEntity Row, TaskCompletionSource Stored)>(pending.Count);
                foreach (var item in pending)
                {
                    var size = Size(item.Row);
                    if (item.Row.PartitionKey == partition && group.Count < MaxRows && (group.Count == 0 || bytes + size <= MaxBytes))
                    {
                        bytes += size;
                        group.Add(item);
                    }
                    else
                    {
                        rest.Add(item);
                    }
                }

                pending.Clear();
                pending.AddRange(rest);
            }

            if (group.Count == 1)
            {
                await InsertOneAsync(group[0]);
                continue;
            }

            try
            {
                await table.SubmitTransactionAsync([.. group.Select(g => new TableTransactionAction(TableTransactionActionType.Add, g.Row))], CancellationToken.None);
                group.ForEach(g => g.Stored.TrySetResult());
            }
            catch (Exception)
            {
                foreach (var item in group)
                {
                    await InsertOneAsync(item);
                }
            }
        }
    }

    private async Task InsertOneAsync((TableEntity Row, TaskCompletionSource Stored) item)
    {
        try
        {
            await table.AddEntityAsync(item.Row, CancellationToken.None);
            item.Stored.TrySetResult();
        }
        catch (RequestFailedException e) when (e.Status == 409 && conflictMeansStored)
        {
            item.Stored.TrySetResult();
        }
        catch (Exception e)
        {
            item.Stored.TrySetException(e);
        }
    }

    // A generous estimate of a row's size in a transaction's body (UTF-16 text, names and typing included).
    private static long Size(TableEntity row) =>
        row.Sum(p => 64 + (2L * p.Key.Length) + (p.Value is string text ? 2L * text.Length : p.Value is byte[] bytes ? 2L * bytes.Length : 32));
}
