using Billing.Domain;
using Billing.Domain.Payments;
using Billing.Functions.Notifications;
using Billing.Functions.Telemetry;

namespace Billing.Functions.Payments;

/// <summary>
/// Wraps the payment store so that every status change, whichever path made it (API call, webhook, reconciliation),
/// raises the merchant event (<c>payment.succeeded</c>, <c>payment.failed</c>, <c>payment.requires_action</c>,
/// <c>refund.created</c>, <c>refund.updated</c>) once — de-duplicated by payment/refund id and state — and counts it.
/// </summary>
public sealed class NotifyingPaymentStore(IPaymentStore inner, INotifier notifier, BillingMetrics metrics) : IPaymentStore
{
    public Task<(Payment Payment, bool Created)> CreateAsync(Payment payment, string requestKey, CancellationToken cancellationToken = default) =>
        inner.CreateAsync(payment, requestKey, cancellationToken);

    public Task<Payment?> GetAsync(string paymentId, CancellationToken cancellationToken = default) => inner.GetAsync(paymentId, cancellationToken);

    public Task<Payment?> FindByRequestKeyAsync(string customerId, string requestKey, CancellationToken cancellationToken = default) =>
        inner.FindByRequestKeyAsync(customerId, requestKey, cancellationToken);

    public async Task<Payment> UpdateAsync(Payment payment, Func<Payment, Payment> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payment);
        var updated = await inner.UpdateAsync(payment, change, cancellationToken);
        if (updated.Status != payment.Status)
        {
            var currency = updated.Amount.Currency.Code;
            switch (updated.Status)
            {
                case PaymentStatus.Succeeded:
                    metrics.PaymentSucceeded(currency);
                    await notifier.PublishAsync("payment.succeeded", updated.CustomerId, PaymentResponse.From(updated), $"payment.succeeded:{updated.Id}", cancellationToken);
                    break;
                case PaymentStatus.RequiresPaymentMethod when updated.Failure is { } failure:
                    metrics.PaymentFailed(currency, failure.DeclineCode ?? failure.Code);
                    await notifier.PublishAsync("payment.failed", updated.CustomerId, PaymentResponse.From(updated), $"payment.failed:{updated.Id}:{updated.Updated.ToUnixTimeMilliseconds()}", cancellationToken);
                    break;
                case PaymentStatus.RequiresAction:
                    await notifier.PublishAsync("payment.requires_action", updated.CustomerId, PaymentResponse.From(updated), $"payment.requires_action:{updated.Id}:{updated.Updated.ToUnixTimeMilliseconds()}", cancellationToken);
                    break;
            }
        }

        return updated;
    }

    public Task<ListPage<Payment>> ListAsync(PaymentQuery query, CancellationToken cancellationToken = default) => inner.ListAsync(query, cancellationToken);

    public async Task<(Refund Refund, bool Created)> CreateRefundAsync(Refund refund, string requestKey, Func<Payment, Payment> reserve, CancellationToken cancellationToken = default)
    {
        var result = await inner.CreateRefundAsync(refund, requestKey, reserve, cancellationToken);
        if (result.Created)
        {
            await notifier.PublishAsync("refund.created", result.Refund.CustomerId, RefundResponse.From(result.Refund), $"refund.created:{result.Refund.Id}", cancellationToken);
        }

        return result;
    }

    public Task<Refund?> GetRefundAsync(string customerId, string paymentId, string refundId, CancellationToken cancellationToken = default) =>
        inner.GetRefundAsync(customerId, paymentId, refundId, cancellationToken);

    public async Task<Refund> UpdateRefundAsync(Refund refund, Func<Refund, Refund> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refund);
        var updated = await inner.UpdateRefundAsync(refund, change, cancellationToken);
        if (updated.Status != refund.Status)
        {
            await notifier.PublishAsync("refund.updated", updated.CustomerId, RefundResponse.From(updated), $"refund.updated:{updated.Id}:{updated.Status}", cancellationToken);
        }

        return updated;
    }

    public Task<ListPage<Refund>> ListRefundsAsync(string customerId, string paymentId, int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        inner.ListRefundsAsync(customerId, paymentId, limit, startingAfter, cancellationToken);
}
