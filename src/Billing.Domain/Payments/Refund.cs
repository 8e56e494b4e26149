namespace Billing.Domain.Payments;

/// <summary>Where a refund stands; Stripe's refund statuses.</summary>
public enum RefundStatus
{
    Pending,
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
}

/// <summary>
/// Money given back on a payment. Created <see cref="RefundStatus.Pending"/> with its amount already held on the
/// payment (so concurrent refunds never exceed it), then submitted to the processor with a key derived from its id;
/// its status then follows the processor (a pending refund can still succeed or fail later).
/// </summary>
public sealed record Refund
{
    public const string IdPrefix = "rfd";

    public required string Id { get; init; }

    public required string PaymentId { get; init; }

    public required string CustomerId { get; init; }

    public required Money Amount { get; init; }

    public RefundReason? Reason { get; init; }

    /// <summary>The merchant's metadata, kept so a resumed send repeats the exact request under the same idempotency key.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public RefundStatus Status { get; init; } = RefundStatus.Pending;

    /// <summary>Null until the processor accepted it.</summary>
    public string? GatewayRefundId { get; init; }

    public string? FailureReason { get; init; }

    public string? RequestHash { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset Updated { get; init; }

    /// <summary>Mirrors the processor; a refund never goes back to pending once settled, and failed/canceled are final.</summary>
    public Refund Apply(GatewayRefund reported, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reported);
        if (GatewayRefundId is not null && Rank(reported.Status) < Rank(Status))
        {
            return this;
        }

        var updated = this with { Status = reported.Status, GatewayRefundId = reported.Id, FailureReason = reported.FailureReason ?? FailureReason };
        return updated == this ? this : updated with { Updated = now };
    }

    /// <summary>The processor refused the refund for good.</summary>
    public Refund Fail(string reason, DateTimeOffset now) =>
        Status is RefundStatus.Failed ? this : this with { Status = RefundStatus.Failed, FailureReason = reason, Updated = now };

    private static int Rank(RefundStatus status) => status switch
    {
        RefundStatus.Pending or RefundStatus.RequiresAction => 0,
        RefundStatus.Succeeded => 1,
        _ => 2,
    };
}

/// <summary>Where payments and refunds are kept. Updates are optimistic: change functions may run more than once.</summary>
public interface IPaymentStore
{
    /// <summary>
    /// Records a new pending payment under a client request key, atomically with the key. When the key was used
    /// before, nothing is written and the earlier payment is returned with <c>Created = false</c>.
    /// </summary>
    Task<(Payment Payment, bool Created)> CreateAsync(Payment payment, string requestKey, CancellationToken cancellationToken = default);

    Task<Payment?> GetAsync(string paymentId, CancellationToken cancellationToken = default);

    /// <summary>The payment a request key created (a client's idempotency key, or <see cref="Payment.AdoptionKey"/>), or null.</summary>
    Task<Payment?> FindByRequestKeyAsync(string customerId, string requestKey, CancellationToken cancellationToken = default);

    Task<Payment> UpdateAsync(Payment payment, Func<Payment, Payment> change, CancellationToken cancellationToken = default);

    Task<ListPage<Payment>> ListAsync(PaymentQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a new pending refund and reserves its amount on the payment in one atomic step guarded by the payment's
    /// ETag (<paramref name="reserve"/> re-runs on conflicts and throws when the remainder is too small). When the
    /// request key was used before, returns the earlier refund with <c>Created = false</c>.
    /// </summary>
    Task<(Refund Refund, bool Created)> CreateRefundAsync(Refund refund, string requestKey, Func<Payment, Payment> reserve, CancellationToken cancellationToken = default);

    Task<Refund?> GetRefundAsync(string customerId, string paymentId, string refundId, CancellationToken cancellationToken = default);

    Task<Refund> UpdateRefundAsync(Refund refund, Func<Refund, Refund> change, CancellationToken cancellationToken = default);

    /// <summary>Refunds of a payment, newest first.</summary>
    Task<ListPage<Refund>> ListRefundsAsync(string customerId, string paymentId, int limit, string? startingAfter, CancellationToken cancellationToken = default);
}

/// <summary>Filters of the payment list; all optional. <see cref="CreatedBefore"/> is exclusive.</summary>
public sealed record PaymentQuery(string? CustomerId, PaymentStatus? Status, DateTimeOffset? CreatedFrom, DateTimeOffset? CreatedBefore, int Limit, string? StartingAfter);
