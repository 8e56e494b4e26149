using Azure;
using Billing.Functions.Storage;

namespace Billing.Functions.Idempotency;

/// <summary>
/// A stored idempotent request: the hash of what was asked, and — once the first attempt has answered — the status,
/// content type, location and body it answered with. Partition = caller + key, so keys are per API key.
/// </summary>
public sealed record IdempotencyRecord
{
    public required string RequestHash { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public int? Status { get; init; }

    public string? ContentType { get; init; }

    public string? Location { get; init; }

    public string? Body { get; init; }

    public bool Completed => Status is not null;
}

/// <summary>The outcome of claiming an idempotency key.</summary>
public enum IdempotencyClaim
{
    /// <summary>First use: run the request and record its response.</summary>
    Started,

    /// <summary>Same key, same request, already answered: replay.</summary>
    Replay,

    /// <summary>Same key, different request: 422.</summary>
    Mismatch,

    /// <summary>Same key, same request, still running: 409.</summary>
    InProgress,
}

/// <summary>Idempotency records in the <c>Idempotency</c> table; kept for 24 h, then the key may be reused.</summary>
public sealed class IdempotencyStore(StorageClients clients, TimeProvider clock)
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>How long an unfinished first attempt blocks duplicates before it is presumed dead and may be retried.</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(2);

    private const string Row = "request";
    private readonly JsonTable table = new(clients.Table(TableNames.Idempotency));

    public async Task<(IdempotencyClaim Claim, IdempotencyRecord? Record, ETag ETag)> ClaimAsync(string scope, string key, string requestHash, CancellationToken cancellationToken)
    {
        var partition = Partition(scope, key);
        var now = clock.GetUtcNow();
        var fresh = new IdempotencyRecord { RequestHash = requestHash, StartedAt = now };
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                var etag = await table.InsertAsync(partition, Row, fresh, cancellationToken: cancellationToken);
                return (IdempotencyClaim.Started, fresh, etag);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                var existing = await table.GetAsync<IdempotencyRecord>(partition, Row, cancellationToken);
                if (existing is not { } row)
                {
                    continue;
                }

                var expired = now - row.Value.StartedAt > Retention;
                var abandoned = !row.Value.Completed && now - row.Value.StartedAt > InFlightLease;
                if (expired || abandoned)
                {
                    if (await table.TryReplaceAsync(partition, Row, fresh, row.ETag, cancellationToken: cancellationToken))
                    {
                        var reloaded = await table.GetAsync<IdempotencyRecord>(partition, Row, cancellationToken);
                        return (IdempotencyClaim.Started, fresh, reloaded?.ETag ?? default);
                    }

                    continue;
                }

                if (!string.Equals(row.Value.RequestHash, requestHash, StringComparison.Ordinal))
                {
                    return (IdempotencyClaim.Mismatch, row.Value, row.ETag);
                }

                return row.Value.Completed ? (IdempotencyClaim.Replay, row.Value, row.ETag) : (IdempotencyClaim.InProgress, row.Value, row.ETag);
            }
        }

        return (IdempotencyClaim.InProgress, null, default);
    }

    public Task CompleteAsync(string scope, string key, IdempotencyRecord record, ETag etag, CancellationToken cancellationToken) =>
        table.TryReplaceAsync(Partition(scope, key), Row, record, etag, cancellationToken: cancellationToken);

    /// <summary>Forgets a claim whose request failed with a server error, so the client's retry runs again.</summary>
    public async Task ReleaseAsync(string scope, string key, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await table.Client.DeleteEntityAsync(Partition(scope, key), Row, etag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
        }
    }

    // Keys are free text: hash them into a fixed-width, table-safe partition key.
    private static string Partition(string scope, string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(scope + "\n" + key)));
}
