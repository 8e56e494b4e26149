using Billing.Domain.Payments;
using Billing.Domain.Scheduling;
using Billing.Functions.Scheduling;

namespace Billing.Functions.Payments;

/// <summary>
/// Reconciliation: a payment or refund still unsettled an hour after it was created is re-read from Stripe (or sent, if
/// a crash kept it from being sent) and converges; if Stripe still has not settled it, it is checked again every hour
/// for three days, then logged as stuck for a person to look at. Per-item timers replace a daily scan: the same
/// guarantee — a missed or lost webhook never leaves money in limbo — with work bounded by what is actually open.
/// </summary>
public sealed partial class ReconciliationHandler(PaymentService payments, IScheduleStore schedule, TimeProvider clock, ILogger<ReconciliationHandler> logger, string kind) : IWorkHandler
{
    private const int MaxChecks = 72;

    public string Kind { get; } = kind;

    public async Task HandleAsync(DueWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var unsettled = Kind == PaymentService.ReconcilePaymentWork
            ? (await payments.ResumePaymentAsync(work.TargetId, cancellationToken)).Unsettled
            : (await payments.ResumeRefundAsync(work.CustomerId, work.Detail!, work.TargetId, cancellationToken)).Unsettled;
        var check = (int)work.ExpectedVersion + 1;
        if (!unsettled)
        {
            LogSettled(logger, Kind, work.TargetId, check);
            return;
        }

        if (check >= MaxChecks)
        {
            LogStuck(logger, Kind, work.TargetId, check);
            return;
        }

        LogStillOpen(logger, Kind, work.TargetId, check);
        await schedule.ScheduleAsync(work with { ExpectedVersion = check, DueAt = (work.ClockId is null ? clock.GetUtcNow() : work.DueAt) + PaymentService.ReconcileAfter }, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation {Kind} {Id}: settled (check {Check})")]
    private static partial void LogSettled(ILogger logger, string kind, string id, int check);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation {Kind} {Id}: still open at Stripe after check {Check}; checking again in an hour")]
    private static partial void LogStillOpen(ILogger logger, string kind, string id, int check);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconciliation {Kind} {Id}: still open after {Check} checks; needs a person")]
    private static partial void LogStuck(ILogger logger, string kind, string id, int check);
}
