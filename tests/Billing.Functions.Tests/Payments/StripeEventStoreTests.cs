using Billing.Functions.Payments;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class StripeEventStoreTests(AppFixture fixture)
{
    [Fact]
    public async Task A_types_events_spread_over_partitions_are_each_stored_once_and_paged_through_once()
    {
        var prefix = "sharded" + Guid.NewGuid().ToString("N")[..6];
        var clients = new StorageClients(Options.Create(new StorageOptions { ConnectionString = fixture.Azurite.ConnectionString, NamePrefix = prefix }), []);
        await clients.Table(StripeEventStore.TableName).CreateAsync();
        var store = new StripeEventStore(clients);
        var ids = Enumerable.Range(0, 40).Select(i => $"evt_1Sharded{i:D4}").ToList();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var record = new StripeEventRecord { Id = id, Type = "invoice.paid", Payload = "{}", Status = i % 4 == 0 ? StripeEventStatus.Unmatched : StripeEventStatus.Processed };
            Assert.True((await store.AddAsync(record)).Created);
            Assert.False((await store.AddAsync(record with { Status = StripeEventStatus.Received })).Created); // a redelivery finds the first
        }

        await store.AddAsync(new StripeEventRecord { Id = "evt_1Other", Type = "invoice.paid.other", Payload = "{}" }); // a type whose name extends this one's

        Assert.True(ids.Select(id => StripeEventStore.Partition("invoice.paid", id)).Distinct().Count() > 8);
        var listed = new List<string>();
        string? after = null;
        do
        {
            var page = await store.ListAsync("invoice.paid", null, 7, after);
            listed.AddRange(page.Data.Select(r => r.Id));
            after = page.HasMore ? page.Data[^1].Id : null;
        }
        while (after is not null);

        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, listed.Distinct().Count());
        var unmatched = await store.ListAsync("invoice.paid", StripeEventStatus.Unmatched, 100, null);
        Assert.Equal(ids.Where((_, i) => i % 4 == 0).Order(StringComparer.Ordinal), unmatched.Data.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(StripeEventStatus.Processed, (await store.GetAsync("invoice.paid", ids[1]))!.Status);
    }
}
