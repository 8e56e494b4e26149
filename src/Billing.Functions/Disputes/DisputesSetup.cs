using Billing.Domain.Disputes;
using Billing.Domain.Scheduling;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.StripeGateway;

namespace Billing.Functions.Disputes;

/// <summary>Registers dispute storage, the Stripe dispute adapter, the process manager and its two work kinds.</summary>
public static class DisputesSetup
{
    public static IServiceCollection AddDisputes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DisputeOptions>().Bind(configuration.GetSection(DisputeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IDisputeStore, TableDisputeStore>();
        services.AddSingleton<IDisputeGateway, StripeDisputeGateway>();
        services.AddSingleton<IDisputePolicyActions, RecordedDisputePolicyActions>();
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
/// <see cref="IDisputePolicyActions"/> until subscriptions and dunning are on main: it only <b>records the intent</b>
/// (row <c>(customer, dispute-policy|{dispute id})</c>, written once) and returns it as <c>*_requested</c> actions; it
/// stops no dunning and changes no subscription. Replace it with an implementation against the subscription store
/// when that lands.
/// </summary>
public sealed class RecordedDisputePolicyActions(StorageClients clients, TimeProvider clock) : IDisputePolicyActions
{
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public async Task<IReadOnlyList<string>> ApplyAsync(Dispute dispute, bool stopDunning, DisputeSubscriptionPolicy subscriptionPolicy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var actions = new List<string>();
        if (stopDunning)
        {
            actions.Add("dunning_stop_requested");
        }

        if (subscriptionPolicy != DisputeSubscriptionPolicy.None)
        {
            var name = subscriptionPolicy == DisputeSubscriptionPolicy.Cancel ? "subscription_cancel_requested" : "subscription_pause_collection_requested";
            actions.Add(dispute.SubscriptionId is { } subscription ? $"{name}:{subscription}" : name);
        }

        if (dispute.CustomerId is { } customer && actions.Count > 0)
        {
            try
            {
                await table.InsertAsync(customer, "dispute-policy|" + dispute.Id, new PolicyIntent(dispute.Id, actions, clock.GetUtcNow()), cancellationToken: cancellationToken);
            }
            catch (Azure.RequestFailedException e) when (e.Status == 409)
            {
            }
        }

        return actions;
    }

    private sealed record PolicyIntent(string DisputeId, IReadOnlyList<string> Actions, DateTimeOffset RecordedAt);
}
