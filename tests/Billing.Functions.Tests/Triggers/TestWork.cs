using System.Collections.Concurrent;
using Billing.Domain.Scheduling;
using Billing.Functions.Scheduling;
using Billing.Functions.Triggers;

namespace Billing.Functions.Tests.Triggers;

/// <summary>A work handler that records what it was given, and fails on request.</summary>
public sealed class RecordingWorkHandler : IWorkHandler
{
    public const string WorkKind = "test_record";

    public ConcurrentQueue<DueWork> Handled { get; } = new();

    public string Kind => WorkKind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken)
    {
        Handled.Enqueue(work);
        return Task.CompletedTask;
    }
}

/// <summary>A queue function that fails its first <see cref="FailuresBeforeSuccess"/> attempts of every message.</summary>
public sealed class FlakyQueueFunction : IQueueFunction
{
    public ConcurrentQueue<QueueMessage> Attempts { get; } = new();

    public int FailuresBeforeSuccess { get; set; }

    public string FunctionName => "FlakyQueue";

    public string QueueName => "flaky";

    public Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        Attempts.Enqueue(message);
        return message.DequeueCount <= FailuresBeforeSuccess ? throw new InvalidOperationException("injected failure") : Task.CompletedTask;
    }
}

/// <summary>A timer function that counts its ticks.</summary>
public sealed class CountingTimerFunction : ITimerFunction
{
    private int ticks;

    public int Ticks => ticks;

    public string FunctionName => "EverySecond";

    public Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ticks);
        return Task.FromResult<IReadOnlyList<string>>(["tick"]);
    }
}
