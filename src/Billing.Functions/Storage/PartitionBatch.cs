using Azure;
using Azure.Data.Tables;

namespace Billing.Functions.Storage;

/// <summary>
/// The writes of one entity-group transaction: all in one partition (Azure rejects a batch that spans two; Azurite
/// wrongly accepts it, so the guard is here), at most 100, applied all or nothing. Replacements carry the ETag they were
/// read with, inserts fail if the row exists, so a concurrent writer makes the whole batch fail and nothing is half done.
/// </summary>
public sealed class PartitionBatch(string partitionKey)
{
    public const int MaxActions = 100;
    private readonly List<TableTransactionAction> actions = [];
    private readonly HashSet<string> rows = new(StringComparer.Ordinal);

    public string PartitionKey { get; } = partitionKey;

    public int Count => actions.Count;

    public PartitionBatch Insert<T>(string rowKey, T value, IReadOnlyDictionary<string, object?>? columns = null) =>
        Add(TableTransactionActionType.Add, JsonTable.ToEntity(PartitionKey, rowKey, value, columns), default);

    /// <summary>Replaces the row only if it still has <paramref name="etag"/>.</summary>
    public PartitionBatch Replace<T>(string rowKey, T value, ETag etag, IReadOnlyDictionary<string, object?>? columns = null) =>
        Add(TableTransactionActionType.UpdateReplace, JsonTable.ToEntity(PartitionKey, rowKey, value, columns), etag);

    /// <summary>Inserts when <paramref name="etag"/> is null (the row was not there when read), else replaces with If-Match.</summary>
    public PartitionBatch Put<T>(string rowKey, T value, ETag? etag, IReadOnlyDictionary<string, object?>? columns = null) =>
        etag is { } e ? Replace(rowKey, value, e, columns) : Insert(rowKey, value, columns);

    /// <summary>Writes the row whatever is there (no precondition).</summary>
    public PartitionBatch Upsert<T>(string rowKey, T value, IReadOnlyDictionary<string, object?>? columns = null) =>
        Add(TableTransactionActionType.UpsertReplace, JsonTable.ToEntity(PartitionKey, rowKey, value, columns), default);

    public PartitionBatch Delete(string rowKey, ETag etag) =>
        Add(TableTransactionActionType.Delete, new TableEntity(PartitionKey, rowKey), etag);

    /// <summary>Adds a ready entity; throws if it belongs to another partition.</summary>
    public PartitionBatch Add(TableTransactionActionType type, TableEntity entity, ETag etag)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (!string.Equals(entity.PartitionKey, PartitionKey, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"A transaction on partition '{PartitionKey}' cannot write to partition '{entity.PartitionKey}'.");
        }

        if (!rows.Add(entity.RowKey))
        {
            throw new InvalidOperationException($"Row '{entity.RowKey}' appears twice in one transaction.");
        }

        if (actions.Count == MaxActions)
        {
            throw new InvalidOperationException($"A transaction holds at most {MaxActions} operations.");
        }

        actions.Add(new TableTransactionAction(type, entity, etag));
        return this;
    }

    private static bool RowGone(RequestFailedException e) => e.Status == 404 && e.ErrorCode == "ResourceNotFound";

    /// <summary>
    /// Submits the batch. Returns false when a precondition failed (a row changed since it was read: 412; a row to
    /// insert already exists: 409; a row to replace or delete is gone since it was read, e.g. a deleted draft: 404
    /// <c>ResourceNotFound</c>) so the caller can reload and re-apply; other failures throw.
    /// </summary>
    public async Task<bool> TrySubmitAsync(TableClient table, CancellationToken cancellationToken = default) =>
        await TrySubmitForETagsAsync(table, cancellationToken) is not null;

    /// <summary>
    /// <see cref="TrySubmitAsync"/> that also returns the new ETag of every row written (by row key), so the caller can
    /// go on with what it wrote instead of reading it back; null when a precondition failed. A row whose ETag the
    /// service did not return is absent from the map.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, ETag>?> TrySubmitForETagsAsync(TableClient table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        var etags = new Dictionary<string, ETag>(StringComparer.Ordinal);
        if (actions.Count == 0)
        {
            return etags;
        }

        try
        {
            var responses = (await table.SubmitTransactionAsync(actions, cancellationToken)).Value;
            for (var i = 0; i < responses.Count && i < actions.Count; i++)
            {
                if (actions[i].ActionType != TableTransactionActionType.Delete && responses[i].Headers.ETag is { } etag)
                {
                    etags[actions[i].Entity.RowKey] = etag;
                }
            }

            return etags;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412 || RowGone(e))
        {
            return null;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 || RowGone(e))
        {
            return null;
        }
    }
}
