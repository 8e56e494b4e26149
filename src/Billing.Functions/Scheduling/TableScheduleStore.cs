using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Billing.Domain.Scheduling;
using Billing.Functions.Storage;

namespace Billing.Functions.Scheduling;

/// <summary>
/// The due-work index in table <c>Schedule</c>. Partition <c>due-NN</c> (one of <see cref="Shards"/>, by a stable hash of
/// the target id) so sweeps run per shard in parallel and no partition is hot; test-clock items live in
/// <c>clock-{clockId}</c> and are only run by advancing that clock. Row key
/// <c>{yyyyMMddHHmmssfff}|{kind}|{target}|{version}|{detail}</c>: a fixed-width time prefix makes "due at or before T"
/// a string range query (Azurite truncates date filters to milliseconds), and equal items collapse into one row.
/// <para>
/// A row's content is fixed by its key, so writing the same row again changes nothing: this instance remembers the
/// rows it wrote in the last <see cref="RecentlyWritten"/> and skips repeats (one renewal used to upsert its next step
/// three to five times, once per step that "makes sure" of it). Removing or cancelling a row here forgets it. A repeat
/// skipped after another instance swept the row is harmless: the sweep queued it.
/// </para>
/// </summary>
public sealed class TableScheduleStore(StorageClients clients) : IScheduleStore
{
    public const string TableName = "Schedule";
    public const int Shards = 16;
    private static readonly TimeSpan RecentlyWritten = TimeSpan.FromSeconds(30);
    private const int MaxRemembered = 4_096; // only the last 30 s of writes matter: 4,096 to 8,192 are kept
    private readonly JsonTable table = new(clients.Table(TableName));
    private readonly BoundedMemo<string, long> written = new(MaxRemembered);

    public TableClient Client => table.Client;

    public static string Partition(DueWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return work.ClockId is { } clock ? ClockPartition(clock) : ShardPartition(Shard(work.TargetId));
    }

    public static string ShardPartition(int shard) => "due-" + shard.ToString("D2", CultureInfo.InvariantCulture);

    public static string ClockPartition(string clockId) => "clock-" + clockId;

    public static string TimeKey(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

    public static string RowKey(DueWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return $"{TimeKey(work.DueAt)}|{work.Kind}|{work.TargetId}|{work.ExpectedVersion.ToString("D10", CultureInfo.InvariantCulture)}|{work.Detail}";
    }

    /// <summary>FNV-1a over the id, so the shard of an object never changes between processes.</summary>
    public static int Shard(string targetId)
    {
        ArgumentNullException.ThrowIfNull(targetId);
        var hash = 2166136261u;
        foreach (var c in targetId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Shards);
    }

    public async Task ScheduleAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        var entity = Entity(work);
        var key = entity.PartitionKey + "/" + entity.RowKey;
        var now = Environment.TickCount64; // real time on purpose: this is about storage writes, not billing time
        if (written.TryGet(key, out var at) && now - at < (long)RecentlyWritten.TotalMilliseconds)
        {
            return;
        }

        await table.Client.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        written.Set(key, now);
    }

    public async Task CancelAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        written.Forget(Partition(work) + "/" + RowKey(work));
        try
        {
            await table.Client.DeleteEntityAsync(Partition(work), RowKey(work), ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    public async Task<IReadOnlyList<DueWork>> ListForCustomerAsync(string customerId, CancellationToken cancellationToken = default)
    {
        // An admin read: one filtered query per shard (a property filter scans the partition, which is bounded).
        var filter = $"PartitionKey ge 'clock-' and PartitionKey lt 'due.' and CustomerId eq {Keys.Quote(customerId)}";
        var items = new List<DueWork>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            items.Add(JsonTable.FromEntity<DueWork>(entity));
        }

        return [.. items.OrderBy(w => w.DueAt).ThenBy(w => w.Kind, StringComparer.Ordinal)];
    }

    /// <summary>Items of one partition due strictly before <paramref name="before"/>, in due order, with their row ETags.</summary>
    public async Task<IReadOnlyList<(DueWork Work, TableEntity Row)>> ListDueAsync(string partition, DateTimeOffset before, int limit, CancellationToken cancellationToken = default)
    {
        var filter = $"PartitionKey eq {Keys.Quote(partition)} and RowKey lt {Keys.Quote(TimeKey(before))}";
        var items = new List<(DueWork, TableEntity)>(limit);
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(limit, 1000), cancellationToken: cancellationToken))
        {
            items.Add((JsonTable.FromEntity<DueWork>(entity), entity));
            if (items.Count >= limit)
            {
                break;
            }
        }

        return items;
    }

    /// <summary>Removes rows that were handed off; rows changed or removed meanwhile are left alone (a duplicate at worst).</summary>
    public async Task RemoveAsync(IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            written.Forget(row.PartitionKey + "/" + row.RowKey);
        }

        foreach (var partition in rows.GroupBy(r => r.PartitionKey))
        {
            foreach (var chunk in partition.Chunk(100))
            {
                try
                {
                    await table.Client.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, r.ETag)), cancellationToken);
                }
                catch (TableTransactionFailedException)
                {
                    foreach (var row in chunk)
                    {
                        try
                        {
                            await table.Client.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
                        }
                        catch (RequestFailedException e) when (e.Status is 404 or 412)
                        {
                        }
                    }
                }
            }
        }
    }

    private static TableEntity Entity(DueWork work) =>
        JsonTable.ToEntity(Partition(work), RowKey(work), work, new Dictionary<string, object?> { ["CustomerId"] = work.CustomerId, ["Kind"] = work.Kind });
}
