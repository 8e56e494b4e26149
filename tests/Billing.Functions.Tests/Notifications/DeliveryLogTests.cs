using Billing.Domain;
using Billing.Domain.Notifications;
using Billing.Functions.Notifications;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Tests.Notifications;

[Collection(AppCollection.Name)]
public sealed class DeliveryLogTests(AppFixture fixture)
{
    [Fact]
    public async Task An_endpoints_delivery_log_spread_over_minutes_pages_newest_first_once_each_and_finds_each_by_id()
    {
        var clients = new StorageClients(Options.Create(new StorageOptions { ConnectionString = fixture.Azurite.ConnectionString, NamePrefix = "dlog" + Guid.NewGuid().ToString("N")[..6] }), []);
        await clients.Table(NotificationStore.TableName).CreateAsync();
        var store = new NotificationStore(clients);
        var now = new DateTimeOffset(2026, 12, 7, 0, 1, 30, TimeSpan.Zero);
        var endpoint = Ids.New(WebhookEndpoint.IdPrefix, now);
        var times = new[] { now, now.AddSeconds(-5), now.AddSeconds(-61), now.AddHours(-3), now.AddDays(-2) };
        var deliveries = times.Select(t => Delivery(endpoint, t)).ToList();
        foreach (var delivery in deliveries)
        {
            await store.CreateDeliveryAsync(delivery, CancellationToken.None);
        }

        await store.CreateDeliveryAsync(Delivery(endpoint + "X", now), CancellationToken.None); // an endpoint id that extends this one

        var listed = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await store.ListDeliveriesAsync(endpoint, 2, after, CancellationToken.None);
            listed.AddRange(page.Data.Select(d => d.Id));
            if (!page.HasMore)
            {
                break;
            }

            after = page.Data[^1].Id;
        }

        Assert.Equal(deliveries.OrderByDescending(d => d.Id, StringComparer.Ordinal).Select(d => d.Id), listed);
        var found = await store.GetDeliveryAsync(endpoint, deliveries[3].Id, CancellationToken.None);
        Assert.Equal(deliveries[3].EventId, found!.Value.Delivery.EventId);
        Assert.True(await store.TrySaveDeliveryAsync(found.Value.Delivery with { Status = DeliveryStatus.Succeeded }, found.Value.ETag, CancellationToken.None));
        Assert.Equal(DeliveryStatus.Succeeded, (await store.GetDeliveryAsync(endpoint, deliveries[3].Id, CancellationToken.None))!.Value.Delivery.Status);
        Assert.Null(await store.GetDeliveryAsync(endpoint, "whd_not-an-id", CancellationToken.None));
    }

    private static WebhookDelivery Delivery(string endpoint, DateTimeOffset at) => new()
    {
        Id = Ids.New(WebhookDelivery.IdPrefix, at),
        EndpointId = endpoint,
        EventId = Ids.New(BillingEvent.IdPrefix, at),
        EventType = "invoice.paid",
        EventCreated = at,
        NextAttemptAt = at,
    };
}
