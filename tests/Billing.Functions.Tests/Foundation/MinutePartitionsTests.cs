using Azure.Data.Tables;
using Billing.Domain;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class MinutePartitionsTests(AppFixture fixture)
{
    private const string Log = "log|";

    private sealed record Row(string Id, string Kind);

    [Fact]
    public async Task Pages_list_every_row_once_newest_first_across_minutes_and_days()
    {
        var table = new JsonTable(new TableClient(fixture.Azurite.ConnectionString, "minutes" + Guid.NewGuid().ToString("N")[..8]));
        await table.Client.CreateAsync();
        var now = new DateTimeOffset(2026, 12, 7, 0, 1, 30, TimeSpan.Zero);
        var times = new[]
        {
            now, now.AddSeconds(-1), now.AddSeconds(-40), now.AddSeconds(-89), now.AddSeconds(-91), // two minutes of today, the last of yesterday
            now.AddDays(-1).AddHours(20), now.AddDays(-1).AddHours(20), now.AddDays(-1).AddHours(3), // yesterday
            now.AddDays(-6), // a week back
        };
        var rows = times.Select((t, i) => new Row(Ids.New("evt", t), i % 2 == 0 ? "even" : "odd")).ToList();
        foreach (var row in rows)
        {
            await table.InsertAsync(MinutePartitions.Of(Log, row.Id), Keys.Descending(row.Id), row, new Dictionary<string, object?> { ["Kind"] = row.Kind });
        }

        var other = Ids.New("aud", now);
        await table.InsertAsync(MinutePartitions.Of(Log, other), Keys.Descending(other), new Row(other, "even")); // a row of another kind in the same partition
        await table.InsertAsync(MinutePartitions.Of("logs|", rows[0].Id), Keys.Descending(rows[0].Id), new Row("another log", "even")); // a prefix that extends this one
        var newestFirst = rows.OrderByDescending(r => r.Id, StringComparer.Ordinal).Select(r => r.Id).ToList();

        var listed = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await MinutePartitions.ListNewestFirstAsync<Row>(table, Log, "evt", 2, after, null, null, CancellationToken.None);
            listed.AddRange(page.Data.Select(r => r.Id));
            if (!page.HasMore)
            {
                break;
            }

            after = page.Data[^1].Id;
        }

        Assert.Equal(newestFirst, listed);
        var even = await MinutePartitions.ListNewestFirstAsync<Row>(table, Log, "evt", 100, null, "Kind eq 'even'", null, CancellationToken.None);
        Assert.Equal(newestFirst.Where(id => rows.Single(r => r.Id == id).Kind == "even"), even.Data.Select(r => r.Id));
        var recent = await MinutePartitions.ListNewestFirstAsync<Row>(table, Log, "evt", 100, null, null, now.AddDays(-2), CancellationToken.None);
        Assert.Equal(newestFirst.Take(8), recent.Data.Select(r => r.Id)); // two days back: the week-old row is out of reach
        Assert.Equal(["log|797387929998", "log|797387929998", "log|797387929999", "log|797387929999", "log|797387937640"], rows.Take(5).Select(r => MinutePartitions.Of(Log, r.Id)));
    }
}
