using System.Globalization;
using Billing.Domain;

namespace Billing.Functions.Storage;

/// <summary>
/// Rows keyed by a time-ordered id (<see cref="Ids"/>), listed newest first — logs (events, the audit trail) and the
/// id → customer indexes — spread over one partition per minute: partition = <c>{prefix}{999999999999 − yyyyMMddHHmm}</c>
/// of the id's UTC time, row key = descending id, so partitions, and the rows in each, sort newest first and one range
/// query lists them all. No partition grows with the log: in Azure a partition serves about 2,000 entities/s, and
/// Azurite finds a row by scanning its partition, so one partition for everything made every insert slower as rows
/// piled up.
/// </summary>
public static class MinutePartitions
{
    private const long Top = 999_999_999_999;

    public static string Of(string prefix, string id) => Of(prefix, Ids.CreatedAt(id));

    public static string Of(string prefix, DateTimeOffset time)
    {
        var minute = long.Parse(time.UtcDateTime.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return prefix + (Top - minute).ToString("D12", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> rows newest first, after <paramref name="startingAfter"/>'s row when given, none
    /// older than <paramref name="oldest"/>'s minute when given: one range query.
    /// </summary>
    public static Task<ListPage<T>> ListNewestFirstAsync<T>(JsonTable table, string prefix, string idPrefix, int limit, string? startingAfter, string? extraFilter,
        DateTimeOffset? oldest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        var end = oldest is { } o ? $"PartitionKey le {Keys.Quote(Of(prefix, o))}" : $"PartitionKey lt {Keys.Quote(Keys.PrefixEnd(prefix))}";
        return table.ListPartitionRangeAsync<T>(prefix, end, startingAfter is null ? null : (Of(prefix, startingAfter), Keys.Descending(startingAfter)), idPrefix + "_",
            extraFilter, limit, cancellationToken);
    }

    /// <summary>
    /// A page of objects found through an index listed newest first (<see cref="ListNewestFirstAsync"/>): index rows are
    /// paged, each one's object loaded (<paramref name="load"/> gives null for an index row without its object, which a
    /// crash between the two writes can leave) and kept when <paramref name="keep"/> says so, until the page is full or
    /// the index ends.
    /// </summary>
    public static async Task<ListPage<T>> ListThroughIndexAsync<TEntry, T>(JsonTable table, string prefix, string idPrefix, int limit, string? startingAfter,
        string? indexFilter, Func<TEntry, string> idOf, Func<TEntry, CancellationToken, Task<T?>> load, Func<T, bool> keep, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(idOf);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(keep);
        var after = startingAfter;
        var found = new List<T>(limit);
        var hasMore = true;
        while (found.Count < limit && hasMore)
        {
            var page = await ListNewestFirstAsync<TEntry>(table, prefix, idPrefix, limit - found.Count, after, indexFilter, null, cancellationToken);
            var loaded = await Task.WhenAll(page.Data.Select(entry => load(entry, cancellationToken)));
            found.AddRange(loaded.OfType<T>().Where(keep));
            hasMore = page.HasMore;
            after = page.Data.Count > 0 ? idOf(page.Data[^1]) : after;
        }

        return new ListPage<T>(found, hasMore);
    }
}
