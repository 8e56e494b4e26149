using Billing.Domain.Disputes;
using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Functions.Dunning;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.StripeGateway;
using Billing.Functions.Subscriptions;

namespace Billing.Functions.Disputes;

/// <summary>Registers dispute storage, the Stripe dispute adapter, the process manager and its two work kinds.</summary>
public static class DisputesSetup
{
    public static IServiceCollection AddDisputes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DisputeOptions>().Bind(configuration.GetSection(DisputeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IDisputeStore, TableDisputeStore>();
        services.AddSingleton<IDisputeGateway, StripeDisputeGateway>();
        services.AddSingleton<IDisputePolicyActions, SubscriptionDisputePolicyActions>();
        services.AddSingleton<DisputeService>();
        services.AddSingleton<IWorkHandler, DisputeReminderHandler>();
        services.AddSingleton<IWorkHandler, DisputeDeadlineHandler>();
        services.AddSingleton(new StorageResource(StorageResourceKind.Container, DisputeService.InvoicesContainer));
        return services;
    }
}

/// <summary>Due work <c>dispute_reminder</c>: a reminder before the evidence deadline (version-guarded).</summary>
public sealed class DisputeReminderHandler(DisputeService disputes) : IWorkHandler
{
    public string Kind => DisputeService.ReminderKind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken) => disputes.RemindAsync(work, cancellationToken);
}

/// <summary>Due work <c>dispute_deadline</c>: the evidence deadline (version-guarded).</summary>
public sealed class DisputeDeadlineHandler(DisputeService disputes) : IWorkHandler
{
    public string Kind => DisputeService.DeadlineKind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken) => disputes.DeadlineAsync(work, cancellationToken);
}

/// <summary>
/// The dispute policy against billing: with <c>stopDunning</c> the active dunning of the customer's open invoices
/// (the disputed one included) is stopped, so pending retries are no-ops (<c>dunning_stopped</c>, plus
/// <c>dunning_stopped:{invoice}</c> per invoice stopped); <c>cancel</c> cancels the subscription the disputed invoice
/// belongs to now (<c>subscription_canceled:{id}</c>) and <c>pause_collection</c> pauses its collection, invoices kept
/// as drafts until the merchant resumes it (<c>subscription_collection_paused:{id}</c>). Changes go through the
/// subscription domain methods and are saved with the ETag read, with history actor <c>dispute</c>; applying twice
/// changes nothing more.
/// </summary>
public sealed class SubscriptionDisputePolicyActions(DunningService dunning, SubscriptionChanger subscriptions, TableInvoicingStore store) : IDisputePolicyActions
{
    public async Task<IReadOnlyList<string>> ApplyAsync(Dispute dispute, bool stopDunning, DisputeSubscriptionPolicy subscriptionPolicy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var actions = new List<string>();
        if (dispute.CustomerId is not { } customerId)
        {
            return actions;
        }

        if (stopDunning)
        {
            actions.Add("dunning_stopped");
            actions.AddRange((await dunning.StopForCustomerAsync(customerId, Actors.Dispute, cancellationToken)).Select(id => "dunning_stopped:" + id));
        }

        var subscriptionId = dispute.SubscriptionId;
        if (subscriptionId is null && dispute.InvoiceId is { } invoiceId && await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is { } invoice)
        {
            subscriptionId = invoice.Value.SubscriptionId;
        }

        if (subscriptionPolicy == DisputeSubscriptionPolicy.None || subscriptionId is null)
        {
            return actions;
        }

        var changed = await subscriptions.ApplyAsync(customerId, subscriptionId, (s, now) =>
            s.IsTerminal ? s
            : subscriptionPolicy == DisputeSubscriptionPolicy.Cancel ? s.CancelNow(now, Actors.Dispute).Subscription
            : s.PauseCollection is not null ? s
            : s.PauseCollectionWith(PauseCollectionBehavior.KeepAsDraft, null, now, Actors.Dispute), cancellationToken);
        if (changed is not null)
        {
            actions.Add((subscriptionPolicy == DisputeSubscriptionPolicy.Cancel ? "subscription_canceled:" : "subscription_collection_paused:") + subscriptionId);
        }

        return actions;
    }
}
