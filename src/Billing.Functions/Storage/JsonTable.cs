using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Billing.Domain;

namespace Billing.Functions.Storage;

/// <summary>
/// A table whose rows hold one domain record each as JSON (split over <c>D0…Dn</c> string properties, since a
/// table property holds at most 32 K characters) plus a few plain columns used by filters. A record of 1 KiB or more is
/// stored Brotli-compressed in one binary property <c>Z</c> instead: events, stored responses and Stripe payloads shrink
/// to a third, which is what storage bills and what Azurite re-serialises every few seconds; reads accept both forms. Every update is
/// optimistic: read with its ETag, apply the change, replace with If-Match; a 412 reloads and re-applies, a
/// bounded number of times, then <see cref="ConcurrencyConflictException"/> (HTTP 409).
/// </summary>
public sealed class JsonTable(TableClient client)
{
    private const int ChunkLength = 30_000;
    private const int CompressFrom = 1024;
    private const int MaxBinaryLength = 64 * 1024;
    private const int BrotliQuality = 4;
    private const int BrotliWindow = 22;
    private const string CompressedColumn = "Z";
    private const int MaxUpdateAttempts = 10;

    public TableClient Client { get; } = client;

    public static TableEntity ToEntity<T>(string partitionKey, string rowKey, T value, IReadOnlyDictionary<string, object?>? columns = null)
    {
        var entity = new TableEntity(partitionKey, rowKey);
        var utf8 = JsonSerializer.SerializeToUtf8Bytes(value, StorageJson.Options);
        if (utf8.Length < CompressFrom || Compress(utf8) is not { } compressed)
        {
            var json = Encoding.UTF8.GetString(utf8);
            for (int i = 0, chunk = 0; i < json.Length; i += ChunkLength, chunk++)
            {
                entity["D" + chunk] = json.Substring(i, Math.Min(ChunkLength, json.Length - i));
            }
        }
        else
        {
            entity[CompressedColumn] = compressed;
        }

        if (columns is not null)
        {
            foreach (var (name, column) in columns)
            {
                entity[name] = column;
            }
        }

        return entity;
    }

    public static T FromEntity<T>(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        T? value;
        if (entity.TryGetValue(CompressedColumn, out var stored) && stored is byte[] compressed)
        {
            using var json = new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress);
            value = JsonSerializer.Deserialize<T>(json, StorageJson.Options);
        }
        else
        {
            var json = new StringBuilder();
            for (var chunk = 0; entity.TryGetValue("D" + chunk, out var part) && part is string text; chunk++)
            {
                json.Append(text);
            }

            value = JsonSerializer.Deserialize<T>(json.ToString(), StorageJson.Options);
        }

        return value ?? throw new InvalidOperationException($"Row {entity.PartitionKey}/{entity.RowKey} holds no record.");
    }

    /// <summary>Brotli of the record's UTF-8 JSON, or null when it would not fit one binary property (64 KiB).</summary>
    private static byte[]? Compress(byte[] utf8)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(utf8.Length));
        try
        {
            return BrotliEncoder.TryCompress(utf8, buffer, out var written, BrotliQuality, BrotliWindow) && written <= MaxBinaryLength
                ? buffer.AsSpan(0, written).ToArray()
                : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<(T Value, ETag ETag)?> GetAsync<T>(string partitionKey, string rowKey, CancellationToken cancellationToken = default)
    {
        var response = await Client.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
        return response.HasValue && response.Value is { } entity ? (FromEntity<T>(entity), entity.ETag) : null;
    }

    /// <summary>Inserts a new row; throws <see cref="RequestFailedException"/> with status 409 if it exists.</summary>
    public async Task<ETag> InsertAsync<T>(string partitionKey, string rowKey, T value, IReadOnlyDictionary<string, object?>? columns = null, CancellationToken cancellationToken = default)
    {
        var response = await Client.AddEntityAsync(ToEntity(partitionKey, rowKey, value, columns), cancellationToken);
        return response.Headers.ETag ?? default;
    }

    /// <summary>Replaces the row only if it still has <paramref name="etag"/>; returns false on a 412 (someone else wrote first).</summary>
    public async Task<bool> TryReplaceAsync<T>(string partitionKey, string rowKey, T value, ETag etag, IReadOnlyDictionary<string, object?>? columns = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await Client.UpdateEntityAsync(ToEntity(partitionKey, rowKey, value, columns), etag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return false;
        }
    }

    /// <summary>
    /// Optimistic read-modify-write. <paramref name="change"/> must be a pure function of the loaded value (it can run
    /// several times); returning the same instance skips the write.
    /// </summary>
    public Task<T> UpdateAsync<T>(
        string partitionKey,
        string rowKey,
        string kind,
        Func<T, T> change,
        Func<T, IReadOnlyDictionary<string, object?>?>? columns = null,
        CancellationToken cancellationToken = default)
        where T : class =>
        UpdateAsync(partitionKey, rowKey, kind, null, change, columns, cancellationToken);

    /// <summary>
    /// <see cref="UpdateAsync{T}(string, string, string, Func{T, T}, Func{T, IReadOnlyDictionary{string, object?}?}?, CancellationToken)"/>
    /// starting from the row as the caller read it (<paramref name="known"/>): the first try writes without reading,
    /// and a stale ETag makes the next try read.
    /// </summary>
    public async Task<T> UpdateAsync<T>(
        string partitionKey,
        string rowKey,
        string kind,
        (T Value, ETag ETag)? known,
        Func<T, T> change,
        Func<T, IReadOnlyDictionary<string, object?>?>? columns = null,
        CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; attempt < MaxUpdateAttempts; attempt++)
        {
            var loaded = (attempt == 0 ? known : null) ?? await GetAsync<T>(partitionKey, rowKey, cancellationToken) ?? throw new NotFoundException(kind, rowKey);
            var updated = change(loaded.Value);
            if (ReferenceEquals(updated, loaded.Value))
            {
                return updated;
            }

            if (await TryReplaceAsync(partitionKey, rowKey, updated, loaded.ETag, columns?.Invoke(updated), cancellationToken))
            {
                return updated;
            }

            await Task.Delay(Random.Shared.Next(1, 5 << Math.Min(attempt, 4)), cancellationToken);
        }

        throw new ConcurrencyConflictException($"The {kind} was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Reads rows of one partition whose row keys start with <paramref name="rowKeyPrefix"/> in key order, after
    /// <paramref name="afterRowKey"/> (exclusive), at most <paramref name="limit"/> (+1 to know if more follow).
    /// </summary>
    public async Task<ListPage<T>> ListAsync<T>(
        string partitionKey,
        string rowKeyPrefix,
        string? afterRowKey,
        int limit,
        string? extraFilter = null,
        CancellationToken cancellationToken = default)
    {
        var lower = afterRowKey is null ? $"RowKey ge {Keys.Quote(rowKeyPrefix)}" : $"RowKey gt {Keys.Quote(afterRowKey)}";
        var filter = $"PartitionKey eq {Keys.Quote(partitionKey)} and {lower} and RowKey lt {Keys.Quote(Keys.PrefixEnd(rowKeyPrefix))}";
        if (extraFilter is not null)
        {
            filter += $" and ({extraFilter})";
        }

        return await ListWhereAsync<T>(filter, limit, cancellationToken);
    }

    /// <summary>
    /// Rows of the partitions from <paramref name="firstPartition"/> while <paramref name="endCondition"/> holds (a
    /// <c>PartitionKey</c> comparison), after the row <paramref name="after"/> when given, with row keys under
    /// <paramref name="rowKeyPrefix"/> and matching <paramref name="extraFilter"/>: one range query, in partition then
    /// row-key order (a cursor row's later rows, then the partitions after it).
    /// </summary>
    public Task<ListPage<T>> ListPartitionRangeAsync<T>(string firstPartition, string endCondition, (string Partition, string RowKey)? after, string rowKeyPrefix,
        string? extraFilter, int limit, CancellationToken cancellationToken = default)
    {
        var range = after is not { } cursor
            ? $"PartitionKey ge {Keys.Quote(firstPartition)} and {endCondition}"
            : $"((PartitionKey eq {Keys.Quote(cursor.Partition)} and RowKey gt {Keys.Quote(cursor.RowKey)}) or (PartitionKey gt {Keys.Quote(cursor.Partition)} and {endCondition}))";
        var filter = $"{range} and RowKey ge {Keys.Quote(rowKeyPrefix)} and RowKey lt {Keys.Quote(Keys.PrefixEnd(rowKeyPrefix))}" + (extraFilter is null ? "" : $" and ({extraFilter})");
        return ListWhereAsync<T>(filter, limit, cancellationToken);
    }

    /// <summary>The first <paramref name="limit"/> rows matching <paramref name="filter"/> (in partition, then row key order), and whether there are more.</summary>
    public async Task<ListPage<T>> ListWhereAsync<T>(string filter, int limit, CancellationToken cancellationToken = default)
    {
        var items = new List<T>(limit + 1);
        await foreach (var entity in Client.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(1000, limit + 1), cancellationToken: cancellationToken))
        {
            items.Add(FromEntity<T>(entity));
            if (items.Count > limit)
            {
                break;
            }
        }

        var hasMore = items.Count > limit;
        return new ListPage<T>(hasMore ? items[..limit] : items, hasMore);
    }
}
