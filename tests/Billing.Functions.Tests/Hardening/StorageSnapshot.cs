using Azure.Data.Tables;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Hardening;

/// <summary>
/// Everything an app instance with its own <c>Storage:NamePrefix</c> has stored: every row (with its ETag, so even a
/// rewrite of the same content counts), every queue's messages and every blob, except the tables that legitimately
/// record each call (<c>Audit</c>, <c>Idempotency</c>).
/// </summary>
public static class StorageSnapshot
{
    public static async Task<SortedDictionary<string, string>> TakeAsync(BillingApp app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var clients = app.Services.GetRequiredService<StorageClients>();
        var prefix = clients.Prefix;
        Assert.False(string.IsNullOrEmpty(prefix), "A storage snapshot needs an app with its own Storage:NamePrefix.");
        string[] excluded = [prefix + TableNames.Audit, prefix + TableNames.Idempotency];
        var state = new SortedDictionary<string, string>(StringComparer.Ordinal);

        await foreach (var table in clients.Tables.QueryAsync())
        {
            if (!table.Name.StartsWith(prefix, StringComparison.Ordinal) || excluded.Contains(table.Name, StringComparer.Ordinal))
            {
                continue;
            }

            await foreach (var row in clients.Tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                var columns = row.Where(c => c.Key is not "Timestamp" and not "odata.etag").OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}");
                state[$"table {table.Name} {row.PartitionKey} | {row.RowKey}"] = $"etag {row.ETag}: {string.Join("; ", columns)}";
            }
        }

        await foreach (var queue in clients.Queues.GetQueuesAsync(prefix: prefix))
        {
            var client = clients.Queues.GetQueueClient(queue.Name);
            var count = (await client.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            var peeked = (await client.PeekMessagesAsync(32)).Value;
            state[$"queue {queue.Name}"] = $"{count} messages: {string.Join(", ", peeked.Select(m => m.MessageId + "=" + m.Body))}";
        }

        await foreach (var container in clients.Blobs.GetBlobContainersAsync(prefix: prefix))
        {
            await foreach (var blob in clients.Blobs.GetBlobContainerClient(container.Name).GetBlobsAsync())
            {
                state[$"blob {container.Name}/{blob.Name}"] = $"etag {blob.Properties.ETag}, {blob.Properties.ContentLength} bytes";
            }
        }

        return state;
    }

    /// <summary>The differences between two snapshots, one line each (empty when none).</summary>
    public static IReadOnlyList<string> Diff(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var lines = new List<string>();
        foreach (var (key, value) in after)
        {
            if (!before.TryGetValue(key, out var old))
            {
                lines.Add($"added   {key}: {Cut(value)}");
            }
            else if (old != value)
            {
                lines.Add($"changed {key}: {Cut(old)} → {Cut(value)}");
            }
        }

        lines.AddRange(before.Keys.Where(key => !after.ContainsKey(key)).Select(key => $"removed {key}"));
        return lines;
    }

    private static string Cut(string text) => text.Length <= 240 ? text : text[..240] + "…";
}
