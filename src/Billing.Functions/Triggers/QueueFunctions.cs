namespace Billing.Functions.Triggers;

/// <summary>
/// The body of one queue-triggered function: the Functions host (or <c>LocalHost</c> without a host) reads a message from
/// <see cref="QueueName"/> and hands its text here. Throwing (or returning a failure) leaves the message on the queue to
/// be retried, and after <c>maxDequeueCount</c> attempts it moves to <c>{queue}-poison</c>; so handlers must be
/// idempotent — a message can arrive more than once and in any order.
/// </summary>
public interface IQueueFunction
{
    /// <summary>The function's name: its folder (<c>{FunctionName}/function.json</c>) and the path the host posts to.</summary>
    string FunctionName { get; }

    /// <summary>The queue it reads (without the storage name prefix).</summary>
    string QueueName { get; }

    Task HandleAsync(QueueMessage message, CancellationToken cancellationToken);
}

/// <summary>A dequeued message as the handler sees it: the decoded text and how often it has been delivered.</summary>
public sealed record QueueMessage(string Id, string Text, long DequeueCount, DateTimeOffset? InsertedAt)
{
    /// <summary>
    /// Handles the items one message carries, one after another. One item runs as it is; of several, a failing item does
    /// not stop the others, and the message then fails as a whole: its redelivery runs every item again, and handlers
    /// (idempotent, guarded on state and version) find the ones already done done.
    /// </summary>
    public static async Task HandleEachAsync<T>(IReadOnlyList<T> items, Func<T, Task> handle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(handle);
        if (items.Count == 1)
        {
            await handle(items[0]);
            return;
        }

        List<Exception>? failures = null;
        foreach (var item in items)
        {
            try
            {
                await handle(item);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                (failures ??= []).Add(e);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException($"{failures.Count} of {items.Count} items of the message failed; it is redelivered.", failures);
        }
    }
}

/// <summary>
/// A registered queue function, known by name before it is built: the host's routes are mapped from these, and the
/// function (with everything it depends on: Stripe client, PDF fonts, …) is resolved on its first invocation, not at
/// start-up — that keeps cold start short.
/// </summary>
public sealed record QueueFunctionRoute(string FunctionName, string QueueName, Type Implementation);

public static class QueueFunctionRegistration
{
    /// <summary>
    /// Registers a queue function and the queue it reads (created at start-up). <paramref name="functionName"/> and
    /// <paramref name="queueName"/> must equal the instance's own (a test checks).
    /// </summary>
    public static IServiceCollection AddQueueFunction<TFunction>(this IServiceCollection services, string functionName, string queueName)
        where TFunction : class, IQueueFunction
    {
        services.AddSingleton<TFunction>();
        services.AddSingleton<IQueueFunction>(sp => sp.GetRequiredService<TFunction>());
        services.AddSingleton(new QueueFunctionRoute(functionName, queueName, typeof(TFunction)));
        services.AddSingleton(new Storage.StorageResource(Storage.StorageResourceKind.Queue, queueName));
        services.AddSingleton(new Storage.StorageResource(Storage.StorageResourceKind.Queue, queueName + "-poison"));
        return services;
    }
}
