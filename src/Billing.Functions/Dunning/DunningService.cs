using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Domain.TestClocks;
using Billing.Functions.Invoices;
using Billing.Functions.Notifications;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Subscriptions;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Dunning;

/// <summary>
/// Dunning: after a renewal (or trial-end) invoice could not be collected, retries it on <c>Dunning:RetryDays</c> as due
/// work <c>payment_retry</c> (target = invoice id, expected version = retry number, clock = the customer's test clock).
/// Each retry is a new invoice payment attempt (idempotency key <c>{invoice}:attempt:{n}</c>), recorded on the
/// invoice's <see cref="DunningState"/> before the charge (intent) and after it (outcome). A hard decline ends the
/// retries at once; a decline that needs the customer waits for them (<c>/pay</c>, no automatic retry). A payment by
/// any route marks the dunning recovered (<see cref="InvoiceService"/>), so pending retries find nothing to do. When
/// the retries are exhausted the invoice is marked uncollectible (<c>Dunning:MarkUncollectible</c>) and the
/// subscription becomes <c>Dunning:ExhaustedOutcome</c>.
/// </summary>
public sealed class DunningService(
    TableInvoicingStore store,
    InvoiceService invoices,
    SubscriptionChanger subscriptions,
    IScheduleStore schedule,
    ICustomerStore customers,
    IBillingClock clock,
    INotifier notifier,
    IOptions<DunningOptions> options)
{
    public const string RetryKind = "payment_retry";

    /// <summary>How long after a retry started a guard item resumes it, should the worker die mid-retry.</summary>
    public static readonly TimeSpan ResumeAfter = TimeSpan.FromHours(1);

    private const int MaxAttempts = 20;

    /// <summary>Starts dunning for an open invoice whose latest collection attempt failed; no-op when already started, paid or not failed.</summary>
    public async Task StartAsync(string customerId, string invoiceId, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is not { } loaded
                || loaded.Value is not { Status: InvoiceStatus.Open, Dunning: null, AmountRemaining: > 0 }
                || await store.AttemptsAsync(customerId, invoiceId, cancellationToken) is not [.., { Value: { Status: not null and not CollectionStatus.Succeeded } last }])
            {
                return;
            }

            var (code, declineClass) = Failure(last);
            var state = DunningState.Start(await NowAsync(customerId, cancellationToken), code, declineClass, options.Value.GetRetryDays());
            if (await invoices.TrySaveDunningAsync(loaded, state, cancellationToken))
            {
                await FollowAsync(loaded.Value with { Dunning = state }, last, cancellationToken);
                return;
            }
        }

        throw new ConcurrencyConflictException($"Dunning of invoice '{invoiceId}' could not be started.");
    }

    /// <summary>
    /// Runs retry <see cref="DueWork.ExpectedVersion"/> of invoice <see cref="DueWork.TargetId"/>: a no-op unless the
    /// invoice is open and its dunning expects exactly that retry (a payment, a stop or a newer retry make it stale).
    /// </summary>
    public async Task RetryAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var number = (int)work.ExpectedVersion;
        int paymentAttempt;
        bool existing;
        for (var attempt = 0; ; attempt++)
        {
            if (await store.GetInvoiceAsync(work.CustomerId, work.TargetId, cancellationToken) is not { } loaded
                || loaded.Value is not { Status: InvoiceStatus.Open, Dunning: { } dunning }
                || !dunning.Expects(number))
            {
                return;
            }

            var attempts = await store.AttemptsAsync(work.CustomerId, work.TargetId, cancellationToken);
            if (dunning.InFlight)
            {
                // Resuming after a crash: the same payment attempt again (same idempotency key, never a second charge).
                paymentAttempt = dunning.PaymentAttempt ?? attempts.Count;
                existing = attempts.Any(a => a.Value.Number == paymentAttempt);
                break;
            }

            var now = await NowAsync(work.CustomerId, cancellationToken);
            if (dunning.NextAttemptAt is { } due && now < due)
            {
                await ScheduleAsync(loaded.Value, dunning, cancellationToken);
                return;
            }

            if (await SubscriptionOf(loaded.Value, cancellationToken) is { } subscription && (subscription.IsTerminal || subscription.PauseCollection is not null))
            {
                // Nothing to collect for an ended subscription or one whose collection is paused.
                if (await invoices.TrySaveDunningAsync(loaded, dunning.Stop(now, Actors.Dunning), cancellationToken))
                {
                    return;
                }

                continue;
            }

            paymentAttempt = attempts is [.., { Value: var last }] ? (last.Status is null ? last.Number : last.Number + 1) : 1;
            existing = attempts.Any(a => a.Value.Number == paymentAttempt);
            if (await invoices.TrySaveDunningAsync(loaded, dunning.BeginRetry(number, paymentAttempt), cancellationToken))
            {
                break;
            }

            if (attempt >= MaxAttempts)
            {
                throw new ConcurrencyConflictException($"Retry {number} of invoice '{work.TargetId}' could not be started.");
            }
        }

        var guard = await GuardAsync(work, cancellationToken);
        var (invoice, outcome) = await invoices.CollectAsync(work.CustomerId, work.TargetId, offSession: true, newAttempt: !existing, cancellationToken);
        if (invoice.Status == InvoiceStatus.Open && outcome is { Status: not null and not CollectionStatus.Succeeded })
        {
            await RecordFailureAsync(work.CustomerId, work.TargetId, number, outcome, cancellationToken);
        }

        await schedule.CancelAsync(guard, cancellationToken);
    }

    /// <summary>Stops the active dunning of the customer's open invoices (e.g. a dispute opened); returns the invoices stopped.</summary>
    public async Task<IReadOnlyList<string>> StopForCustomerAsync(string customerId, string actor, CancellationToken cancellationToken = default)
    {
        var stopped = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await store.ListInvoicesAsync(customerId, "open", null, 100, after, cancellationToken);
            foreach (var invoice in page.Data.Where(i => i.Dunning is { IsActive: true }))
            {
                if (await StopAsync(customerId, invoice.Id, actor, cancellationToken))
                {
                    stopped.Add(invoice.Id);
                }
            }

            if (!page.HasMore || page.Data.Count == 0)
            {
                return stopped;
            }

            after = page.Data[^1].Id;
        }
    }

    /// <summary>Stops an invoice's active dunning: pending retries become no-ops. False when none was active.</summary>
    public async Task<bool> StopAsync(string customerId, string invoiceId, string actor, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is not { Value.Dunning: { IsActive: true } dunning } loaded)
            {
                return false;
            }

            if (await invoices.TrySaveDunningAsync(loaded, dunning.Stop(await NowAsync(customerId, cancellationToken), actor), cancellationToken))
            {
                return true;
            }
        }

        throw new ConcurrencyConflictException($"Dunning of invoice '{invoiceId}' could not be stopped.");
    }

    private async Task RecordFailureAsync(string customerId, string invoiceId, int number, PaymentAttempt outcome, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is not { } loaded
                || loaded.Value is not { Status: InvoiceStatus.Open, Dunning: { InFlight: true } dunning }
                || dunning.Attempt != number)
            {
                return;
            }

            var (code, declineClass) = Failure(outcome);
            var next = dunning.RetryFailed(await NowAsync(customerId, cancellationToken), code, declineClass, options.Value.GetRetryDays());
            if (await invoices.TrySaveDunningAsync(loaded, next, cancellationToken))
            {
                await FollowAsync(loaded.Value with { Dunning = next }, outcome, cancellationToken);
                return;
            }
        }

        throw new ConcurrencyConflictException($"The outcome of retry {number} of invoice '{invoiceId}' could not be saved.");
    }

    /// <summary>What comes after a saved dunning state: the next retry scheduled, the customer asked to act, or the exhausted outcome.</summary>
    private async Task FollowAsync(Invoice invoice, PaymentAttempt last, CancellationToken cancellationToken)
    {
        var dunning = invoice.Dunning!;
        switch (dunning.Status)
        {
            case DunningStatus.Scheduled:
                await ScheduleAsync(invoice, dunning, cancellationToken);
                break;
            case DunningStatus.AwaitingCustomer:
                await notifier.PublishAsync("invoice.payment_action_required", invoice.CustomerId, InvoiceResponse.From(invoice, last),
                    $"invoice.payment_action_required:{invoice.Id}:dunning:{dunning.Attempt}", cancellationToken);
                break;
            case DunningStatus.Exhausted:
                await ExhaustAsync(invoice, cancellationToken);
                break;
        }
    }

    private async Task ExhaustAsync(Invoice invoice, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.MarkUncollectible)
        {
            await invoices.TransitionAsync(invoice.CustomerId, invoice.Id, (i, t) => i.Status == InvoiceStatus.Open ? i.MarkUncollectible(t) : i, Actors.Dunning, cancellationToken);
        }

        if (invoice.SubscriptionId is { } subscriptionId && settings.ExhaustedOutcome is "unpaid" or "canceled")
        {
            await subscriptions.ApplyAsync(invoice.CustomerId, subscriptionId, (s, now) =>
                !string.Equals(s.LatestInvoiceId, invoice.Id, StringComparison.Ordinal) || s.Status != SubscriptionStatus.PastDue ? s
                : settings.ExhaustedOutcome == "canceled" ? s.CancelNow(now, Actors.Dunning).Subscription
                : s.MarkUnpaid(now, Actors.Dunning), cancellationToken);
        }
    }

    private async Task ScheduleAsync(Invoice invoice, DunningState dunning, CancellationToken cancellationToken)
    {
        if (dunning.NextAttemptAt is not { } at)
        {
            return;
        }

        await schedule.ScheduleAsync(new DueWork
        {
            Kind = RetryKind,
            CustomerId = invoice.CustomerId,
            TargetId = invoice.Id,
            ExpectedVersion = dunning.Attempt + 1,
            DueAt = at,
            ClockId = await ClockIdAsync(invoice.CustomerId, cancellationToken),
        }, cancellationToken);
    }

    /// <summary>A later item for the same retry, so a retry whose worker died is resumed (removed once the retry completes).</summary>
    private async Task<DueWork> GuardAsync(DueWork work, CancellationToken cancellationToken)
    {
        var guard = new DueWork
        {
            Kind = RetryKind,
            CustomerId = work.CustomerId,
            TargetId = work.TargetId,
            ExpectedVersion = work.ExpectedVersion,
            DueAt = await NowAsync(work.CustomerId, cancellationToken) + ResumeAfter,
            ClockId = work.ClockId,
            Detail = "resume",
        };
        await schedule.ScheduleAsync(guard, cancellationToken);
        return guard;
    }

    private async Task<Subscription?> SubscriptionOf(Invoice invoice, CancellationToken cancellationToken) =>
        invoice.SubscriptionId is { } id ? (await store.GetSubscriptionAsync(invoice.CustomerId, id, cancellationToken))?.Value : null;

    /// <summary>What a failed attempt means for the next one: no payment method or an unfinished authentication need the customer.</summary>
    private static (string? Code, DeclineClass Class) Failure(PaymentAttempt attempt) => attempt.Status switch
    {
        CollectionStatus.RequiresAction => ("authentication_required", DeclineClass.NeedsCustomer),
        CollectionStatus.Failed => (attempt.DeclineCode, DeclineClass.NeedsCustomer),
        _ => (attempt.DeclineCode, attempt.DeclineClass ?? DeclineClass.RetryLater),
    };

    private async Task<Customer> CustomerAsync(string customerId, CancellationToken cancellationToken) =>
        await customers.GetAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId);

    private Task<DateTimeOffset> NowAsync(string customerId, CancellationToken cancellationToken) =>
        clock.NowForAsync(customerId, cancellationToken);

    private async Task<string?> ClockIdAsync(string customerId, CancellationToken cancellationToken) =>
        clock.ClockIdOf(await CustomerAsync(customerId, cancellationToken));
}

/// <summary>Due work <c>payment_retry</c>.</summary>
public sealed class PaymentRetryHandler(DunningService dunning) : IWorkHandler
{
    public string Kind => DunningService.RetryKind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken) => dunning.RetryAsync(work, cancellationToken);
}

/// <summary>Registers dunning.</summary>
public static class DunningRegistration
{
    public static IServiceCollection AddDunning(this IServiceCollection services)
    {
        services.AddOptions<DunningOptions>().BindConfiguration(DunningOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SubscriptionChanger>();
        services.AddSingleton<DunningService>();
        services.AddSingleton<IWorkHandler, PaymentRetryHandler>();
        return services;
    }
}
