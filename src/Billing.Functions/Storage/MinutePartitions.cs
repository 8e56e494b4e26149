using System.Globalization;
using Billing.Domain;

namespace Billing.Functions.Storage;

/// <summary>
/// Logs keyed by a time-ordered id (<see cref="Ids"/>), listed newest first: partition = the id's UTC minute as
/// <c>yyyyMMdd|{1439 − minute of the day}</c>, row key = descending id, so a day's partitions, and the rows in each, sort
/// newest first and one range query lists a day. No partition grows with the log: in Azure a partition serves about
/// 2,000 entities/s, and Azurite finds a row by scanning its partition, so one partition per day made every insert
/// slower as the day's rows piled up.
/// </summary>
public static class MinutePartitions
{
    public static string Of(string id) => Of(Ids.CreatedAt(id));

    public static string Of(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return Day(utc) + "|" + (1439 - (utc.Hour * 60) - utc.Minute).ToString("D4", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> rows newest first, from <paramref name="startingAfter"/>'s row (exclusive) or from
    /// <paramref name="now"/>, at most <paramref name="maxDaysBack"/> days back: one query per day, until one row more than
    /// the page is found (so a page that one day fills exactly still says whether older rows follow).
    /// </summary>
    public static async Task<ListPage<T>> ListNewestFirstAsync<T>(JsonTable table, string idPrefix, int limit, string? startingAfter, string? extraFilter,
        DateTimeOffset now, int maxDaysBack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        var day = (startingAfter is null ? now : Ids.CreatedAt(startingAfter)).UtcDateTime.Date;
        var rows = $"RowKey ge {Keys.Quote(idPrefix + "_")} and RowKey lt {Keys.Quote(Keys.PrefixEnd(idPrefix + "_"))}" + (extraFilter is null ? "" : $" and ({extraFilter})");
        var found = new List<T>(limit + 1); // one more than asked: a page filled by one day may still have more in the days before
        for (var i = 0; i < maxDaysBack && found.Count <= limit; i++, day = day.AddDays(-1), startingAfter = null)
        {
            var dayEnd = Keys.Quote(Keys.PrefixEnd(Day(day) + "|"));
            var range = startingAfter is null
                ? $"PartitionKey ge {Keys.Quote(Day(day) + "|")} and PartitionKey lt {dayEnd}"
                : $"((PartitionKey eq {Keys.Quote(Of(startingAfter))} and RowKey gt {Keys.Quote(Keys.Descending(startingAfter))})"
                    + $" or (PartitionKey gt {Keys.Quote(Of(startingAfter))} and PartitionKey lt {dayEnd}))";
            found.AddRange((await table.ListWhereAsync<T>($"{range} and {rows}", limit + 1 - found.Count, cancellationToken)).Data);
        }

        return found.Count > limit ? new ListPage<T>(found[..limit], true) : new ListPage<T>(found, false);
    }

    private static string Day(DateTime time) => time.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}
