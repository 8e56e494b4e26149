using Azure;
using Azure.Data.Tables;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Notifications;

[Collection(AppCollection.Name)]
public sealed class TableGroupInserterTests(AppFixture fixture)
{
    [Fact]
    public async Task Concurrent_inserts_are_all_stored_once_each_in_their_own_partition()
    {
        var requests = new RequestCounter();
        var table = await NewTableAsync(requests);
        var inserter = new TableGroupInserter(table);

        var rows = Enumerable.Range(0, 300).Select(i => new TableEntity(i % 3 == 0 ? "day-a" : "day-b", $"row-{i:D4}") { ["N"] = i, ["Body"] = new string('x', 500) }).ToList();
        await Task.WhenAll(rows.Select(r => inserter.InsertAsync(r)));

        var stored = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            stored.Add(row);
        }

        Assert.Equal(300, stored.Count);
        Assert.Equal(100, stored.Count(r => r.PartitionKey == "day-a"));
        Assert.All(stored, r => Assert.Equal(r.PartitionKey == "day-a", r.GetInt32("N") % 3 == 0));
        Assert.Equal(Enumerable.Range(0, 300), stored.Select(r => r.GetInt32("N")!.Value).Order());
        Assert.InRange(requests.Writes, 4, 20); // grouped: two rows alone (the first senders), then transactions of up to 100
    }

    [Fact]
    public async Task A_row_already_there_counts_as_stored_and_does_not_fail_the_rows_grouped_with_it()
    {
        var table = await NewTableAsync();
        await table.AddEntityAsync(new TableEntity("p", "row-0005") { ["N"] = 5 });
        var inserter = new TableGroupInserter(table);

        // The keys are new in real use (fresh event ids): a row found there was stored by a try whose answer was lost.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => inserter.InsertAsync(new TableEntity("p", $"row-{i:D4}") { ["N"] = i })));

        var count = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(e => e.PartitionKey == "p"))
        {
            count++;
        }

        Assert.Equal(40, count);
    }

    [Fact]
    public async Task A_failed_write_fails_every_caller_whose_row_it_held()
    {
        var missing = new TableClient(fixture.Azurite.ConnectionString, "nosuchtable" + Guid.NewGuid().ToString("N")[..8]);
        var inserter = new TableGroupInserter(missing);

        var inserts = Enumerable.Range(0, 12).Select(i => inserter.InsertAsync(new TableEntity("p", $"r{i}"))).ToList();

        foreach (var insert in inserts)
        {
            Assert.Equal(404, (await Assert.ThrowsAsync<RequestFailedException>(() => insert)).Status);
        }
    }

    // The table is created by a client of its own, so the counter sees only the inserter's requests.
    private async Task<TableClient> NewTableAsync(RequestCounter? counter = null)
    {
        var name = "groupinsert" + Guid.NewGuid().ToString("N")[..8];
        await new TableClient(fixture.Azurite.ConnectionString, name).CreateAsync();
        var options = new TableClientOptions();
        if (counter is not null)
        {
            options.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        }

        return new TableClient(fixture.Azurite.ConnectionString, name, options);
    }

    private sealed class RequestCounter : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        private int writes;

        public int Writes => Volatile.Read(ref writes);

        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (message.Request.Method == Azure.Core.RequestMethod.Post)
            {
                Interlocked.Increment(ref writes);
            }
        }
    }
}
