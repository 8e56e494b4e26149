using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Billing.Domain;
using Billing.Domain.Notifications;
using Billing.Functions.Storage;

namespace Billing.Functions.Notifications;

/// <summary>
/// Events, endpoints and deliveries in table <c>Events</c>: events by UTC minute (<c>events|…</c>, see
/// <see cref="MinutePartitions"/>; newest first), endpoints in partition <c>endpoints</c>, each endpoint's delivery log by UTC
/// minute too (<c>deliveries|{endpoint id}|…</c>, newest first, so it does not grow one partition with every event delivered), and publish de-duplication keys in <c>keys|{first two hex digits of the
/// key's hash}</c> (256 partitions, so that none grows with every event published).
/// </summary>
public sealed class NotificationStore(StorageClients clients)
{
    public const string TableName = "Events";
    private const string EndpointsPartition = "endpoints";
    private const string EventsPrefix = "events|";

    /// <summary>How long <see cref="EnabledEndpointsAsync"/> reuses its last read (a change made here drops it at once).</summary>
    public static readonly TimeSpan EndpointsCacheLifetime = TimeSpan.FromSeconds(2);

    /// <summary>How many de-duplication keys this instance remembers as published, at least (see <see cref="BoundedMemo{TKey, TValue}"/>).</summary>
    public const int RecentKeysLimit = 4_096;

    private readonly JsonTable table = new(clients.Table(TableName));
    private readonly TableGroupInserter eventRows = new(clients.Table(TableName)); // events of a minute share a partition: renewals' events travel together
    private readonly BoundedMemo<string, bool> recentKeys = new(RecentKeysLimit);
    private readonly Lock endpointsGate = new();
    private volatile Task<EndpointsSnapshot>? endpointsRead; // the last read, or the one under way; null after a change made here

    public async Task<WebhookEndpoint?> GetEndpointAsync(string id, CancellationToken cancellationToken) =>
        Ids.IsValid(id, WebhookEndpoint.IdPrefix) && await table.GetAsync<WebhookEndpoint>(EndpointsPartition, Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public async Task CreateEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken)
    {
        await table.InsertAsync(EndpointsPartition, Keys.Descending(endpoint.Id), endpoint, cancellationToken: cancellationToken);
        ForgetEndpoints();
    }

    public async Task<WebhookEndpoint> UpdateEndpointAsync(string id, Func<WebhookEndpoint, WebhookEndpoint> change, CancellationToken cancellationToken)
    {
        var updated = Ids.IsValid(id, WebhookEndpoint.IdPrefix)
            ? await table.UpdateAsync(EndpointsPartition, Keys.Descending(id), "webhook endpoint", change, cancellationToken: cancellationToken)
            : throw new NotFoundException("webhook endpoint", id);
        ForgetEndpoints();
        return updated;
    }

    /// <summary>
    /// Every endpoint, for publishing: one partition read per <see cref="EndpointsCacheLifetime"/> per instance instead
    /// of one per event (a renewal publishes four or five). Callers that find the snapshot stale share one read, rather
    /// than each querying (two dozen renewals in flight used to query together, and on Azurite every query scans the
    /// whole Events table). An endpoint added on another instance starts receiving events within that time; the
    /// delivery step re-reads its endpoint, so a deleted or disabled one is not called.
    /// </summary>
    public async Task<IReadOnlyList<WebhookEndpoint>> EnabledEndpointsAsync(CancellationToken cancellationToken)
    {
        var read = endpointsRead;
        if (NeedsRead(read))
        {
            lock (endpointsGate)
            {
                read = endpointsRead;
                if (NeedsRead(read))
                {
                    endpointsRead = read = ReadEndpointsAsync();
                }
            }
        }

        return (await read.WaitAsync(cancellationToken)).Endpoints;
    }

    // None yet (or a change made here dropped it: a read started before the change is not joined), a failed one, or a stale one.
    private static bool NeedsRead([NotNullWhen(false)] Task<EndpointsSnapshot>? read) =>
        read is null || read.IsFaulted || read.IsCanceled
        || (read.IsCompletedSuccessfully && Environment.TickCount64 - read.Result.ReadAt >= (long)EndpointsCacheLifetime.TotalMilliseconds);

    // Shared by every caller waiting for it, so no caller's cancellation stops it.
    private async Task<EndpointsSnapshot> ReadEndpointsAsync()
    {
        var readAt = Environment.TickCount64;
        var all = new List<WebhookEndpoint>();
        string? after = null;
        do
        {
            var page = await ListEndpointsAsync(100, after, CancellationToken.None);
            all.AddRange(page.Data.Where(e => !e.Disabled));
            after = page.HasMore ? page.Data[^1].Id : null;
        }
        while (after is not null);

        return new EndpointsSnapshot(all, readAt);
    }

    private void ForgetEndpoints() => endpointsRead = null;

    public async Task DeleteEndpointAsync(string id, CancellationToken cancellationToken)
    {
        // DeleteEntityAsync does not throw when the row is missing: it returns the 404 response.
        if (!Ids.IsValid(id, WebhookEndpoint.IdPrefix) ||
            (await table.Client.DeleteEntityAsync(EndpointsPartition, Keys.Descending(id), ETag.All, cancellationToken)).Status == 404)
        {
            throw new NotFoundException("webhook endpoint", id);
        }

        ForgetEndpoints();
    }

    public Task<ListPage<WebhookEndpoint>> ListEndpointsAsync(int limit, string? startingAfter, CancellationToken cancellationToken) =>
        table.ListAsync<WebhookEndpoint>(EndpointsPartition, WebhookEndpoint.IdPrefix + "_", startingAfter is null ? null : Keys.Descending(startingAfter), limit, cancellationToken: cancellationToken);

    /// <summary>Records the event unless <paramref name="dedupeKey"/> was already published; returns the event to deliver, or null for a repeat.</summary>
    public async Task<BillingEvent?> RecordEventAsync(BillingEvent billingEvent, string? dedupeKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(billingEvent);
        if (dedupeKey is not null)
        {
            // A key this instance saw stored is a repeat without asking storage (e.g. the subscription update that both
            // the payment and the renewal step publish); any other goes to the insert-if-absent below.
            if (recentKeys.Contains(dedupeKey))
            {
                return null;
            }

            try
            {
                var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dedupeKey)));
                await table.InsertAsync("keys|" + hash[..2], hash, billingEvent.Id, cancellationToken: cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                recentKeys.Set(dedupeKey, true);
                return null;
            }
        }

        await eventRows.InsertAsync(JsonTable.ToEntity(MinutePartitions.Of(EventsPrefix, billingEvent.Id), Keys.Descending(billingEvent.Id), billingEvent, new Dictionary<string, object?> { ["Type"] = billingEvent.Type }), cancellationToken);
        if (dedupeKey is not null)
        {
            recentKeys.Set(dedupeKey, true);
        }

        return billingEvent;
    }

    public async Task<BillingEvent?> GetEventAsync(string id, CancellationToken cancellationToken) =>
        Ids.IsValid(id, BillingEvent.IdPrefix) && await table.GetAsync<BillingEvent>(MinutePartitions.Of(EventsPrefix, id), Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    /// <summary>Newest first, up to 90 days back.</summary>
    public Task<ListPage<BillingEvent>> ListEventsAsync(int limit, string? startingAfter, string? type, DateTimeOffset now, CancellationToken cancellationToken) =>
        MinutePartitions.ListNewestFirstAsync<BillingEvent>(table, EventsPrefix, BillingEvent.IdPrefix, limit, startingAfter, type is null ? null : $"Type eq {Keys.Quote(type)}",
            now.AddDays(-90), cancellationToken);

    public Task CreateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken) =>
        table.InsertAsync(DeliveryPartition(delivery.EndpointId, delivery.Id), Keys.Descending(delivery.Id), delivery, cancellationToken: cancellationToken);

    public async Task<(WebhookDelivery Delivery, ETag ETag)?> GetDeliveryAsync(string endpointId, string deliveryId, CancellationToken cancellationToken) =>
        Ids.IsValid(deliveryId, WebhookDelivery.IdPrefix)
            ? await table.GetAsync<WebhookDelivery>(DeliveryPartition(endpointId, deliveryId), Keys.Descending(deliveryId), cancellationToken)
            : null;

    public Task<bool> TrySaveDeliveryAsync(WebhookDelivery delivery, ETag etag, CancellationToken cancellationToken) =>
        table.TryReplaceAsync(DeliveryPartition(delivery.EndpointId, delivery.Id), Keys.Descending(delivery.Id), delivery, etag, cancellationToken: cancellationToken);

    public Task<ListPage<WebhookDelivery>> ListDeliveriesAsync(string endpointId, int limit, string? startingAfter, CancellationToken cancellationToken) =>
        MinutePartitions.ListNewestFirstAsync<WebhookDelivery>(table, DeliveryLog(endpointId), WebhookDelivery.IdPrefix, limit, startingAfter, null, null, cancellationToken);

    private static string DeliveryLog(string endpointId) => $"deliveries|{endpointId}|";

    private static string DeliveryPartition(string endpointId, string deliveryId) => MinutePartitions.Of(DeliveryLog(endpointId), deliveryId);

    private sealed record EndpointsSnapshot(IReadOnlyList<WebhookEndpoint> Endpoints, long ReadAt);

}
