using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Billing.Domain.Scheduling;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Triggers;

[Collection(AppCollection.Name)]
public sealed class DueWorkTests(AppFixture fixture)
{
    private static DueWork Work(string target, DateTimeOffset dueAt, long version = 1) =>
        new() { Kind = RecordingWorkHandler.WorkKind, CustomerId = "cus_test", TargetId = target, ExpectedVersion = version, DueAt = dueAt };

    private BillingApp IsolatedApp(RecordingWorkHandler handler) => new(
        fixture.Azurite.ConnectionString,
        new Dictionary<string, string?> { ["Storage:NamePrefix"] = "due" + Guid.NewGuid().ToString("N")[..8].Where(char.IsLetter).Aggregate("", (a, c) => a + c) },
        services => services.AddSingleton<IWorkHandler>(handler));

    [Fact]
    public async Task The_sweep_queues_exactly_what_is_due_and_removes_it_from_the_index()
    {
        var handler = new RecordingWorkHandler();
        await using var app = IsolatedApp(handler);
        app.Admin();
        var schedule = app.Services.GetRequiredService<IScheduleStore>();
        var now = DateTimeOffset.UtcNow;
        var due = Enumerable.Range(0, 40).Select(i => Work($"sub_due{i}", now.AddMinutes(-i))).ToList();
        var later = Enumerable.Range(0, 5).Select(i => Work($"sub_later{i}", now.AddDays(30 + i))).ToList();
        foreach (var work in due.Concat(later).Append(due[0]))
        {
            await schedule.ScheduleAsync(work);
        }

        var moved = await app.Services.GetRequiredService<DueWorkSweeper>().SweepAsync(now, TimeSpan.FromSeconds(30));

        Assert.Equal(40, moved);
        var queue = app.Services.GetRequiredService<StorageClients>().Queue(WorkItemsFunction.Queue);
        var queued = new List<DueWork>();
        var sent = 0;
        while ((await queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } messages)
        {
            sent += messages.Length;
            Assert.All(messages, m => Assert.InRange(WorkItemsMessage.Parse(m.Body.ToString()).Count, 1, DueWorkSweeper.ItemsPerMessage));
            queued.AddRange(messages.SelectMany(m => WorkItemsMessage.Parse(m.Body.ToString())));
            foreach (var m in messages)
            {
                await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
            }
        }

        Assert.Equal(due.Select(d => d.TargetId).Order(StringComparer.Ordinal), queued.Select(q => q.TargetId).Order(StringComparer.Ordinal));
        var perShard = due.GroupBy(d => TableScheduleStore.Shard(d.TargetId)).Sum(g => (g.Count() + DueWorkSweeper.ItemsPerMessage - 1) / DueWorkSweeper.ItemsPerMessage);
        Assert.Equal(perShard, sent); // a shard's items share messages
        Assert.Equal(0, await app.Services.GetRequiredService<DueWorkSweeper>().SweepAsync(now, TimeSpan.FromSeconds(5)));
        var pending = await schedule.ListForCustomerAsync("cus_test");
        Assert.Equal(later.Select(l => l.TargetId), pending.Select(p => p.TargetId));
    }

    [Fact]
    public async Task Items_spread_over_shards()
    {
        var shards = Enumerable.Range(0, 1000).Select(i => TableScheduleStore.Shard($"sub_{i:D6}")).GroupBy(s => s).ToList();
        Assert.Equal(TableScheduleStore.Shards, shards.Count);
        Assert.All(shards, s => Assert.InRange(s.Count(), 30, 100));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task The_work_items_function_takes_the_host_envelope_and_dispatches_by_kind()
    {
        var handler = new RecordingWorkHandler();
        await using var app = IsolatedApp(handler);
        var work = Work("sub_env", DateTimeOffset.UtcNow, version: 7);
        var text = JsonSerializer.Serialize(work, StorageJson.Options);
        var envelope = new JsonObject
        {
            ["Data"] = new JsonObject { ["message"] = JsonSerializer.Serialize(text) },
            ["Metadata"] = new JsonObject { ["DequeueCount"] = "1", ["Id"] = "\"abc\"", ["sys"] = new JsonObject { ["MethodName"] = "WorkItems" } },
        };

        var response = await app.CreateClient().PostAsync(new Uri("/WorkItems", UriKind.Relative), new StringContent(envelope.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.NotNull(body["Outputs"]);
        Assert.NotNull(body["Logs"]);
        var handled = Assert.Single(handler.Handled);
        Assert.Equal(("sub_env", 7L), (handled.TargetId, handled.ExpectedVersion));
    }

    [Fact]
    public async Task An_unknown_kind_fails_so_the_host_retries_and_then_poisons_it()
    {
        await using var app = IsolatedApp(new RecordingWorkHandler());
        var text = JsonSerializer.Serialize(Work("sub_x", DateTimeOffset.UtcNow) with { Kind = "nobody_handles_this" }, StorageJson.Options);
        var envelope = new JsonObject { ["Data"] = new JsonObject { ["message"] = JsonSerializer.Serialize(text) }, ["Metadata"] = new JsonObject { ["DequeueCount"] = "1" } };

        var response = await app.CreateClient().PostAsync(new Uri("/WorkItems", UriKind.Relative), new StringContent(envelope.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
    }

    [Fact]
    public async Task The_billing_clock_timer_sweeps_through_the_host_envelope()
    {
        var handler = new RecordingWorkHandler();
        await using var app = IsolatedApp(handler);
        app.Admin();
        await app.Services.GetRequiredService<IScheduleStore>().ScheduleAsync(Work("sub_clock", DateTimeOffset.UtcNow.AddSeconds(-1)));
        const string envelope = """{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"BillingClock"}}}""";

        var response = await app.CreateClient().PostAsync(new Uri("/BillingClock", UriKind.Relative), new StringContent(envelope, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("queued 1 due work items", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_items_in_one_message_each_run_and_one_failing_fails_the_message_after_the_others_ran()
    {
        var handler = new RecordingWorkHandler();
        await using var app = IsolatedApp(handler);
        var function = app.Services.GetServices<Billing.Functions.Triggers.IQueueFunction>().Single(f => f.FunctionName == WorkItemsFunction.Name);
        DueWork[] items = [Work("sub_a", DateTimeOffset.UtcNow), Work("sub_b", DateTimeOffset.UtcNow) with { Kind = "nobody_handles_this" }, Work("sub_c", DateTimeOffset.UtcNow, version: 3)];

        var failure = await Assert.ThrowsAsync<AggregateException>(() =>
            function.HandleAsync(new Billing.Functions.Triggers.QueueMessage("m1", WorkItemsMessage.Serialize(items), 2, DateTimeOffset.UtcNow), CancellationToken.None));

        Assert.IsType<InvalidOperationException>(Assert.Single(failure.InnerExceptions));
        Assert.Equal(["sub_a", "sub_c"], handler.Handled.Select(h => h.TargetId));
        Assert.All(handler.Handled, h => Assert.Equal(2, h.Delivery)); // the message's dequeue count reaches every item
        Assert.Throws<JsonException>(() => WorkItemsMessage.Parse("[]"));
    }
}
