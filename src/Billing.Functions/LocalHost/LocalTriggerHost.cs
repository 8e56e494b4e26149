using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Queues;
using Billing.Functions.Storage;
using Billing.Functions.Triggers;
using Cronos;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using AzureQueueMessage = Azure.Storage.Queues.Models.QueueMessage;

namespace Billing.Functions.LocalHost;

/// <summary>LocalHost settings: on by default when no Functions host started the app.</summary>
public sealed class LocalHostOptions
{
    public const string Section = "LocalHost";

    /// <summary>Run timers and poll queues in-process. Defaults to true unless <c>FUNCTIONS_CUSTOMHANDLER_PORT</c> is set.</summary>
    public bool Enabled { get; set; } = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT") is null;

    /// <summary>Folder holding host.json and the function folders; defaults to the app's base directory (the build output).</summary>
    public string? FunctionAppRoot { get; set; }
}

/// <summary>How LocalHost calls a function: the same POST and envelope the Functions host would send.</summary>
public interface IFunctionInvoker
{
    Task<HttpResponseMessage> InvokeAsync(string functionName, JsonObject envelope, CancellationToken cancellationToken);
}

/// <summary>Posts envelopes to this app's own listening address.</summary>
public sealed class HttpFunctionInvoker(IServer server, IHttpClientFactory clients) : IFunctionInvoker
{
    public Task<HttpResponseMessage> InvokeAsync(string functionName, JsonObject envelope, CancellationToken cancellationToken)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has no listening address yet.");
        var client = clients.CreateClient(nameof(HttpFunctionInvoker));
        var uri = new Uri(new Uri(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)), "/" + functionName);
        return client.PostAsJsonAsync(uri, envelope, cancellationToken);
    }
}

/// <summary>
/// Without a Functions host, does what the host would: reads the same <c>function.json</c> files, runs timer functions
/// on their six-field CRON schedules (one instance at a time, by blob lease, as the host's singleton does), polls
/// queues (base64 messages, visibility timeout, dequeue count, poison queue after <c>maxDequeueCount</c> from
/// host.json), and invokes the same endpoints with the same envelopes. Several app instances share the queues
/// without double work because a received message is invisible to the others.
/// </summary>
public sealed partial class LocalTriggerHost(
    IOptions<LocalHostOptions> options,
    StorageClients storage,
    IFunctionInvoker invoker,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<LocalTriggerHost> logger) : BackgroundService
{
    public const string LockContainer = "locks";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        // Wait until the server listens: the invoker posts to it.
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(started.SetResult);
        await started.Task.WaitAsync(stoppingToken);
        var root = options.Value.FunctionAppRoot ?? AppContext.BaseDirectory;
        var functions = FunctionManifest.ReadFunctions(root);
        var settings = FunctionManifest.ReadQueueSettings(root);
        LogStarting(logger, functions.Count(f => f.TriggerType == "timerTrigger"), functions.Count(f => f.TriggerType == "queueTrigger"));
        var loops = functions.Select(function => function.TriggerType switch
        {
            "timerTrigger" => RunTimerAsync(function, stoppingToken),
            "queueTrigger" => PollQueueAsync(function, settings, stoppingToken),
            _ => Task.CompletedTask,
        });
        await Task.WhenAll(loops);
    }

    private async Task RunTimerAsync(FunctionDefinition function, CancellationToken stoppingToken)
    {
        var schedule = CronExpression.Parse(function.Schedule ?? "0 * * * * *", CronFormat.IncludeSeconds);
        var lease = storage.Container(LockContainer).GetBlobClient("timers/" + function.Name);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            var next = schedule.GetNextOccurrence(now.UtcDateTime, inclusive: false) ?? DateTime.MaxValue;
            try
            {
                await Task.Delay(next - now.UtcDateTime, clock, stoppingToken);
                if (await TryAcquireAsync(lease, stoppingToken) is not { } leaseClient)
                {
                    continue;
                }

                try
                {
                    var envelope = new JsonObject
                    {
                        ["Data"] = new JsonObject { ["timer"] = new JsonObject { ["Schedule"] = new JsonObject { ["AdjustForDST"] = true }, ["IsPastDue"] = clock.GetUtcNow() - next > TimeSpan.FromSeconds(30) } },
                        ["Metadata"] = new JsonObject { ["sys"] = new JsonObject { ["MethodName"] = function.Name, ["UtcNow"] = clock.GetUtcNow().ToString("O") } },
                    };
                    using var response = await invoker.InvokeAsync(function.Name, envelope, stoppingToken);
                    if (!response.IsSuccessStatusCode)
                    {
                        LogTimerFailed(logger, function.Name, (int)response.StatusCode);
                    }
                }
                finally
                {
                    await leaseClient.ReleaseAsync(cancellationToken: CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogLoopError(logger, e, function.Name);
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
            }
        }
    }

    private static async Task<BlobLeaseClient?> TryAcquireAsync(Azure.Storage.Blobs.BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            if (!await blob.ExistsAsync(cancellationToken))
            {
                try
                {
                    await blob.UploadAsync(BinaryData.FromString(""), overwrite: false, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status == 409)
                {
                }
            }

            var leaseClient = blob.GetBlobLeaseClient();
            await leaseClient.AcquireAsync(TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
            return leaseClient;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return null; // another instance holds the singleton
        }
    }

    /// <summary>
    /// Polls like the host's queue extension: fetches up to <c>batchSize</c> messages, runs each as soon as it arrives,
    /// and fetches the next batch once no more than <c>newBatchThreshold</c> are still running — not after the whole
    /// batch — so a slow message never holds up the others.
    /// </summary>
    private async Task PollQueueAsync(FunctionDefinition function, QueueHostSettings settings, CancellationToken stoppingToken)
    {
        var queue = storage.Queue(function.QueueName!);
        var poison = storage.Queue(function.QueueName + "-poison");
        var idle = TimeSpan.FromMilliseconds(50);
        var running = new HashSet<Task>();
        var batchSize = Math.Clamp(settings.BatchSize, 1, 32);
        var threshold = Math.Max(0, settings.NewBatchThreshold);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                running.RemoveWhere(t => t.IsCompleted);
                if (running.Count > threshold)
                {
                    await Task.WhenAny(running).WaitAsync(stoppingToken);
                    continue;
                }

                try
                {
                    AzureQueueMessage[] messages = (await queue.ReceiveMessagesAsync(batchSize, TimeSpan.FromMinutes(5), stoppingToken)).Value;
                    if (messages.Length == 0)
                    {
                        await Task.Delay(idle, clock, stoppingToken);
                        idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, settings.MaxPollingInterval.Ticks));
                        continue;
                    }

                    idle = TimeSpan.FromMilliseconds(50);
                    foreach (var message in messages)
                    {
                        running.Add(Task.Run(() => RunMessageAsync(function, settings, queue, poison, message, stoppingToken), CancellationToken.None));
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogLoopError(logger, e, function.Name);
                    await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(running);
        }
    }

    private async Task RunMessageAsync(FunctionDefinition function, QueueHostSettings settings, QueueClient queue, QueueClient poison, AzureQueueMessage message, CancellationToken token)
    {
        try
        {
            var envelope = Envelope(function, message);
            bool handled;
            try
            {
                using var response = await invoker.InvokeAsync(function.Name, envelope, token);
                handled = response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException && !token.IsCancellationRequested)
            {
                LogLoopError(logger, e, function.Name);
                handled = false;
            }

            if (handled)
            {
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
            }
            else if (message.DequeueCount >= settings.MaxDequeueCount)
            {
                await poison.SendMessageAsync(message.Body, cancellationToken: CancellationToken.None);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
                LogPoisoned(logger, function.Name, message.MessageId, message.DequeueCount);
            }
            else
            {
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Shutting down: the message becomes visible again after its visibility timeout.
        }
        catch (Exception e) when (!token.IsCancellationRequested)
        {
            // Deleting or releasing failed (storage hiccup): the message reappears after its visibility timeout.
            LogLoopError(logger, e, function.Name);
        }
    }

    /// <summary>The envelope exactly as the host builds it: message text double-encoded, numbers as strings.</summary>
    public static JsonObject Envelope(FunctionDefinition function, AzureQueueMessage message)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(message);
        return new JsonObject
        {
            ["Data"] = new JsonObject { ["message"] = JsonSerializer.Serialize(message.Body.ToString()) },
            ["Metadata"] = new JsonObject
            {
                ["DequeueCount"] = message.DequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Id"] = JsonSerializer.Serialize(message.MessageId),
                ["PopReceipt"] = JsonSerializer.Serialize(message.PopReceipt),
                ["InsertionTime"] = message.InsertedOn?.ToString("O"),
                ["ExpirationTime"] = message.ExpiresOn?.ToString("O"),
                ["sys"] = new JsonObject { ["MethodName"] = function.Name, ["UtcNow"] = DateTimeOffset.UtcNow.ToString("O") },
            },
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LocalHost: running {Timers} timer and {Queues} queue functions from function.json")]
    private static partial void LogStarting(ILogger logger, int timers, int queues);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LocalHost: timer {Function} answered {Status}")]
    private static partial void LogTimerFailed(ILogger logger, string function, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "LocalHost: message {MessageId} of {Function} moved to the poison queue after {DequeueCount} attempts")]
    private static partial void LogPoisoned(ILogger logger, string function, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LocalHost: {Function} loop error; retrying")]
    private static partial void LogLoopError(ILogger logger, Exception exception, string function);
}
