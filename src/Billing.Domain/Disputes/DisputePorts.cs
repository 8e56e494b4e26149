namespace Billing.Domain.Disputes;

/// <summary>
/// Where disputes are kept. A dispute is created once per Stripe dispute id, whatever the number of concurrent or repeated
/// webhooks (<see cref="CreateAsync"/> is insert-if-absent on the Stripe id), and found by our id or Stripe's.
/// </summary>
public interface IDisputeStore
{
    /// <summary>Stores a new dispute unless one exists for its Stripe dispute id; returns the stored one and whether it was new.</summary>
    Task<(Dispute Dispute, bool Created)> CreateAsync(Dispute dispute, CancellationToken cancellationToken = default);

    Task<Dispute?> GetAsync(string disputeId, CancellationToken cancellationToken = default);

    Task<Dispute?> GetByStripeIdAsync(string stripeDisputeId, CancellationToken cancellationToken = default);

    /// <summary>Optimistic read-modify-write; <paramref name="change"/> may run several times and returns the same instance to skip the write.</summary>
    Task<Dispute> UpdateAsync(Dispute dispute, Func<Dispute, Dispute> change, CancellationToken cancellationToken = default);

    /// <summary>Disputes newest first, filtered, with a cursor.</summary>
    Task<ListPage<Dispute>> ListAsync(DisputeQuery query, CancellationToken cancellationToken = default);
}

/// <summary>A dispute list request: optional status, evidence deadline before a time, customer; newest first.</summary>
public sealed record DisputeQuery(string? Status, DateTimeOffset? DueBefore, string? CustomerId, int Limit, string? StartingAfter);

/// <summary>
/// Stripe's side of a dispute: its current object, evidence updates (staged with <c>submit=false</c>, or submitted), closing
/// (accepting) it, and evidence files. Calls are retried on transient failures with the same idempotency key.
/// </summary>
public interface IDisputeGateway
{
    /// <summary>The dispute as Stripe has it now, stamped <paramref name="observedAt"/>; null when Stripe does not know it.</summary>
    Task<DisputeSnapshot?> GetAsync(string stripeDisputeId, DateTimeOffset observedAt, CancellationToken cancellationToken = default);

    /// <summary>Sends evidence fields (Stripe's names; an empty value clears a field) and submits them when <paramref name="submit"/>.</summary>
    Task UpdateEvidenceAsync(string stripeDisputeId, IReadOnlyDictionary<string, string> evidence, bool submit, string idempotencyKey, CancellationToken cancellationToken = default);

    /// <summary>Accepts the dispute (Stripe's close): irreversible.</summary>
    Task CloseAsync(string stripeDisputeId, string idempotencyKey, CancellationToken cancellationToken = default);

    /// <summary>Uploads a document with purpose <c>dispute_evidence</c>; returns the Stripe file id.</summary>
    Task<string> UploadEvidenceFileAsync(string fileName, string contentType, byte[] content, string idempotencyKey, CancellationToken cancellationToken = default);
}

/// <summary>What to do to a customer's subscription when one of its payments is disputed.</summary>
public enum DisputeSubscriptionPolicy
{
    /// <summary>Leave the subscription alone.</summary>
    None,

    /// <summary>Cancel the subscription the disputed payment paid for.</summary>
    Cancel,

    /// <summary>Keep the subscription but stop collecting payments for it until the merchant resumes it.</summary>
    PauseCollection,
}

/// <summary>
/// What billing does to the customer's account when a dispute opens: stop dunning (retrying a customer who is charging
/// back only adds disputes) and cancel or pause the subscription per <see cref="DisputeSubscriptionPolicy"/>. Called at
/// most once per dispute (the result is recorded on the dispute); must be idempotent anyway.
/// </summary>
public interface IDisputePolicyActions
{
    /// <summary>Applies the policy; returns what was done (e.g. <c>dunning_stopped</c>, <c>subscription_canceled:sub_…</c>).</summary>
    Task<IReadOnlyList<string>> ApplyAsync(Dispute dispute, bool stopDunning, DisputeSubscriptionPolicy subscriptionPolicy, CancellationToken cancellationToken = default);
}
