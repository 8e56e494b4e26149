using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Billing.Domain;
using Billing.Domain.Notifications;
using Billing.Functions.Storage;

namespace Billing.Functions.Notifications;

/// <summary>
/// Events, endpoints and deliveries in table <c>Events</c>: events by UTC day (partition <c>yyyyMMdd</c>, newest first),
/// endpoints in partition <c>endpoints</c>, each endpoint's delivery log in partition <c>deliveries|{endpoint id}</c>
/// (newest first), and publish de-duplication keys in <c>keys</c>.
/// </summary>
public sealed class NotificationStore(StorageClients clients)
{
    public const string TableName = "Events";
    private const string EndpointsPartition = "endpoints";
    private readonly JsonTable table = new(clients.Table(TableName));

    public async Task<WebhookEndpoint?> GetEndpointAsync(string id, CancellationToken cancellationToken) =>
        Ids.IsValid(id, WebhookEndpoint.IdPrefix) && await table.GetAsync<WebhookEndpoint>(EndpointsPartition, Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public Task CreateEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken) =>
        table.InsertAsync(EndpointsPartition, Keys.Descending(endpoint.Id), endpoint, cancellationToken: cancellationToken);

    public Task<WebhookEndpoint> UpdateEndpointAsync(string id, Func<WebhookEndpoint, WebhookEndpoint> change, CancellationToken cancellationToken) =>
        Ids.IsValid(id, WebhookEndpoint.IdPrefix)
            ? table.UpdateAsync(EndpointsPartition, Keys.Descending(id), "webhook endpoint", change, cancellationToken: cancellationToken)
            : throw new NotFoundException("webhook endpoint", id);

    public async Task DeleteEndpointAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await table.Client.DeleteEntityAsync(EndpointsPartition, Keys.Descending(id), ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new NotFoundException("webhook endpoint", id);
        }
    }

    public Task<ListPage<WebhookEndpoint>> ListEndpointsAsync(int limit, string? startingAfter, CancellationToken cancellationToken) =>
        table.ListAsync<WebhookEndpoint>(EndpointsPartition, WebhookEndpoint.IdPrefix + "_", startingAfter is null ? null : Keys.Descending(startingAfter), limit, cancellationToken: cancellationToken);

    /// <summary>Records the event unless <paramref name="dedupeKey"/> was already published; returns the event to deliver, or null for a repeat.</summary>
    public async Task<BillingEvent?> RecordEventAsync(BillingEvent billingEvent, string? dedupeKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(billingEvent);
        if (dedupeKey is not null)
        {
            try
            {
                await table.InsertAsync("keys", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dedupeKey))), billingEvent.Id, cancellationToken: cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                return null;
            }
        }

        await table.InsertAsync(Day(billingEvent.Created), Keys.Descending(billingEvent.Id), billingEvent, new Dictionary<string, object?> { ["Type"] = billingEvent.Type }, cancellationToken);
        return billingEvent;
    }

    public async Task<BillingEvent?> GetEventAsync(string id, CancellationToken cancellationToken) =>
        Ids.IsValid(id, BillingEvent.IdPrefix) && await table.GetAsync<BillingEvent>(Day(Ids.CreatedAt(id)), Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public async Task<ListPage<BillingEvent>> ListEventsAsync(int limit, string? startingAfter, string? type, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var day = (startingAfter is null ? now : Ids.CreatedAt(startingAfter)).UtcDateTime.Date;
        var after = startingAfter is null ? null : Keys.Descending(startingAfter);
        var events = new List<BillingEvent>(limit);
        for (var i = 0; i < 90 && events.Count < limit; i++, day = day.AddDays(-1), after = null)
        {
            var page = await table.ListAsync<BillingEvent>(Day(day), BillingEvent.IdPrefix + "_", after, limit - events.Count,
                type is null ? null : $"Type eq {Keys.Quote(type)}", cancellationToken);
            events.AddRange(page.Data);
            if (page.HasMore)
            {
                return new ListPage<BillingEvent>(events, true);
            }
        }

        return new ListPage<BillingEvent>(events, false);
    }

    public Task CreateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken) =>
        table.InsertAsync(DeliveryPartition(delivery.EndpointId), Keys.Descending(delivery.Id), delivery, cancellationToken: cancellationToken);

    public async Task<(WebhookDelivery Delivery, ETag ETag)?> GetDeliveryAsync(string endpointId, string deliveryId, CancellationToken cancellationToken) =>
        await table.GetAsync<WebhookDelivery>(DeliveryPartition(endpointId), Keys.Descending(deliveryId), cancellationToken);

    public Task<bool> TrySaveDeliveryAsync(WebhookDelivery delivery, ETag etag, CancellationToken cancellationToken) =>
        table.TryReplaceAsync(DeliveryPartition(delivery.EndpointId), Keys.Descending(delivery.Id), delivery, etag, cancellationToken: cancellationToken);

    public Task<ListPage<WebhookDelivery>> ListDeliveriesAsync(string endpointId, int limit, string? startingAfter, CancellationToken cancellationToken) =>
        table.ListAsync<WebhookDelivery>(DeliveryPartition(endpointId), WebhookDelivery.IdPrefix + "_", startingAfter is null ? null : Keys.Descending(startingAfter), limit, cancellationToken: cancellationToken);

    private static string DeliveryPartition(string endpointId) => "deliveries|" + endpointId;

    private static string Day(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}
