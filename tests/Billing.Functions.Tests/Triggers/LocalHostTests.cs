using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Billing.Functions.LocalHost;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Triggers;

/// <summary>LocalHost does what the Functions host would: polls queues with retries and a poison queue, runs timers.</summary>
[Collection(AppCollection.Name)]
public sealed class LocalHostTests(AppFixture fixture) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("billing-functions-root-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private sealed class TestServerInvoker(Func<HttpClient> client) : IFunctionInvoker
    {
        public Task<HttpResponseMessage> InvokeAsync(string functionName, JsonObject envelope, CancellationToken cancellationToken) =>
            client().PostAsJsonAsync("/" + functionName, envelope, cancellationToken);
    }

    private (BillingApp App, FlakyQueueFunction Queue, CountingTimerFunction Timer) Start(int failuresBeforeSuccess)
    {
        File.WriteAllText(Path.Combine(root, "host.json"), """
            { "version": "2.0", "extensions": { "queues": { "maxDequeueCount": 2, "visibilityTimeout": "00:00:00", "batchSize": 8, "maxPollingInterval": "00:00:00.200" } } }
            """);
        Directory.CreateDirectory(Path.Combine(root, "FlakyQueue"));
        File.WriteAllText(Path.Combine(root, "FlakyQueue", "function.json"), """
            { "bindings": [ { "type": "queueTrigger", "direction": "in", "name": "message", "queueName": "flaky", "connection": "AzureWebJobsStorage" } ] }
            """);
        Directory.CreateDirectory(Path.Combine(root, "EverySecond"));
        File.WriteAllText(Path.Combine(root, "EverySecond", "function.json"), """
            { "bindings": [ { "type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "* * * * * *" } ] }
            """);
        var queue = new FlakyQueueFunction { FailuresBeforeSuccess = failuresBeforeSuccess };
        var timer = new CountingTimerFunction();
        BillingApp? app = null;
        app = new BillingApp(
            fixture.Azurite.ConnectionString,
            new Dictionary<string, string?>
            {
                ["LocalHost:Enabled"] = "true",
                ["LocalHost:FunctionAppRoot"] = root,
                ["Storage:NamePrefix"] = "lh" + new string(Guid.NewGuid().ToString("N").Where(char.IsLetter).Take(8).ToArray()),
            },
            services =>
            {
                services.AddQueueFunction<FlakyQueueFunction>("FlakyQueue", "flaky");
                services.AddSingleton(queue);
                services.AddTimerFunction<CountingTimerFunction>("EverySecond");
                services.AddSingleton(timer);
                services.AddSingleton<IFunctionInvoker>(new TestServerInvoker(() => app!.CreateClient()));
            });
        return (app, queue, timer);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for LocalHost.");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_message_that_fails_once_is_retried_and_then_deleted()
    {
        var (app, queue, _) = Start(failuresBeforeSuccess: 1);
        await using var _app = app;
        app.Admin();
        var storage = app.Services.GetRequiredService<StorageClients>();

        await storage.Queue("flaky").SendMessageAsync("""{"n":1}""");

        await WaitUntilAsync(() => Task.FromResult(queue.Attempts.Count >= 2), TimeSpan.FromSeconds(20));
        Assert.Equal([1L, 2L], queue.Attempts.Select(a => a.DequeueCount).Take(2));
        Assert.All(queue.Attempts, a => Assert.Equal("""{"n":1}""", a.Text));
        await WaitUntilAsync(async () => (await storage.Queue("flaky").GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, TimeSpan.FromSeconds(10));
        Assert.False((await storage.Queue("flaky-poison").PeekMessagesAsync()).Value.Length > 0);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_moves_to_the_poison_queue_after_max_dequeue_count()
    {
        var (app, queue, _) = Start(failuresBeforeSuccess: int.MaxValue);
        await using var _app = app;
        app.Admin();
        var storage = app.Services.GetRequiredService<StorageClients>();

        await storage.Queue("flaky").SendMessageAsync("""{"n":2}""");

        await WaitUntilAsync(async () => (await storage.Queue("flaky-poison").PeekMessagesAsync()).Value.Length == 1, TimeSpan.FromSeconds(20));
        Assert.Equal(2, queue.Attempts.Count);
        Assert.Equal("""{"n":2}""", (await storage.Queue("flaky-poison").PeekMessagesAsync()).Value[0].Body.ToString());
    }

    [Fact]
    public async Task Timers_run_on_their_six_field_schedule()
    {
        var (app, _, timer) = Start(failuresBeforeSuccess: 0);
        await using var _app = app;
        app.Admin();

        await WaitUntilAsync(() => Task.FromResult(timer.Ticks >= 2), TimeSpan.FromSeconds(15));
    }
}
