using Billing.Domain.Customers;
using Billing.Domain.Invoicing;

namespace Billing.Functions.Invoices;

/// <summary>
/// The collector used until the payment gateway adapter is wired in: it never moves money and says so, so invoices
/// stay open and subscriptions incomplete with a visible <c>payment_gateway_unavailable</c> failure.
/// </summary>
public sealed class UnavailableInvoiceCollector : IInvoiceCollector
{
    public Task<CollectionResult> CollectAsync(Invoice invoice, Customer customer, int attempt, bool offSession, CancellationToken cancellationToken = default) =>
        Task.FromResult(CollectionResult.Failed("payment_gateway_unavailable", "No payment gateway is connected; the invoice was not charged."));
}
