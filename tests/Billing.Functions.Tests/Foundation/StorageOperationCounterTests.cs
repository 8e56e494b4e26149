using Azure.Data.Tables;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

/// <summary>The benchmark replays what the counter saw, so its counts, sizes and transaction widths must be right.</summary>
[Collection(AppCollection.Name)]
public sealed class StorageOperationCounterTests(AppFixture fixture)
{
    [Fact]
    public async Task Counts_operations_with_their_bytes_and_the_entities_of_each_transaction()
    {
        var counter = new StorageOperationCounter();
        var name = "counted" + Guid.NewGuid().ToString("N")[..8];
        var options = new TableClientOptions();
        options.AddPolicy(counter.For(StorageService.Table), Azure.Core.HttpPipelinePosition.PerRetry);
        var table = new TableClient(fixture.Azurite.ConnectionString, name, options);
        await table.CreateAsync();

        await table.UpsertEntityAsync(new TableEntity("p", "big") { ["D0"] = new string('x', 4_000) }, TableUpdateMode.Replace);
        await table.GetEntityAsync<TableEntity>("p", "big");
        await table.SubmitTransactionAsync([.. Enumerable.Range(0, 3).Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("q", $"r{i}") { ["D0"] = new string('y', 1_000) }))]);
        await table.SubmitTransactionAsync([new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("q", "r9"))]);

        var counts = counter.Snapshot();
        Assert.Equal(1, counts[$"detail/table.PUT.{name}(point:big)"]);
        Assert.InRange(counts[$"sent/table.PUT.{name}(point:big)"], 4_000, 4_400);
        Assert.Equal(1, counts[$"detail/table.GET.{name}(point:big)"]);
        Assert.InRange(counts[$"received/table.GET.{name}(point:big)"], 4_000, 4_600);
        Assert.Equal(2, counts["detail/table.POST.$batch"]);
        Assert.Equal(4, counts["entities/table.POST.$batch"]);
        Assert.InRange(counts["sent/table.POST.$batch"], 3_000, 6_000);
        Assert.Equal(5, counts["total"]); // create table, upsert, get and two transactions
    }
}
