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
}
