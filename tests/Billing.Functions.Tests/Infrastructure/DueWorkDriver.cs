using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Infrastructure;

/// <summary>
/// Drives the durable processes in tests the way the BillingClock timer and the WorkItems queue function do in the
/// app: sweep what is due at <c>now</c> onto the queue, then receive and hand each message to the registered queue
/// function, deleting it on success — until the queue is empty.
/// </summary>
public static class DueWorkDriver
{
    public static async Task<int> RunDueWorkAsync(this BillingApp app, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(app);
        var sweeper = app.Services.GetRequiredService<DueWorkSweeper>();
        var function = app.Services.GetServices<IQueueFunction>().Single(f => f.QueueName == WorkItemsFunction.Queue);
        var queue = app.Services.GetRequiredService<StorageClients>().Queue(WorkItemsFunction.Queue);
        var handled = 0;
        await sweeper.SweepAsync(now, TimeSpan.FromSeconds(30));
        while ((await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value is { Length: > 0 } messages)
        {
            foreach (var message in messages)
            {
                await function.HandleAsync(new QueueMessage(message.MessageId, message.Body.ToString(), message.DequeueCount, message.InsertedOn), CancellationToken.None);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                handled++;
            }
        }

        return handled;
    }

    /// <summary>A storage name prefix of letters only, so an app instance gets its own tables and queues.</summary>
    public static string IsolatedPrefix(string stem) => stem + new string(Guid.NewGuid().ToString("N").Where(char.IsLetter).Take(8).ToArray());
}
