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
public sealed record QueueMessage(string Id, string Text, long DequeueCount, DateTimeOffset? InsertedAt);

public static class QueueFunctionRegistration
{
    /// <summary>Registers a queue function and the queue it reads (created at start-up).</summary>
    public static IServiceCollection AddQueueFunction<TFunction>(this IServiceCollection services, string queueName)
        where TFunction : class, IQueueFunction
    {
        services.AddSingleton<TFunction>();
        services.AddSingleton<IQueueFunction>(sp => sp.GetRequiredService<TFunction>());
        services.AddSingleton(new Storage.StorageResource(Storage.StorageResourceKind.Queue, queueName));
        services.AddSingleton(new Storage.StorageResource(Storage.StorageResourceKind.Queue, queueName + "-poison"));
        return services;
    }
}
