using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Payments;

namespace Billing.Functions.Invoices;

/// <summary>
/// Collects invoices through the payment gateway (Stripe, or the emulator): charges what remains on the invoice to the
/// customer's default payment method with the idempotency key <c>{invoice id}:attempt:{n}</c>, so repeating an attempt
/// after a crash or timeout returns the first outcome instead of charging again. A decline or a refused request is a
/// result; an outage, or a payment still processing, throws so the attempt stays open and is repeated later.
/// </summary>
public sealed class GatewayInvoiceCollector(IPaymentGateway gateway, PaymentService payments) : IInvoiceCollector
{
    public async Task<CollectionResult> CollectAsync(Invoice invoice, Customer customer, int attempt, bool offSession, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        ArgumentNullException.ThrowIfNull(customer);
        if (customer.DefaultPaymentMethodId is not { } paymentMethod)
        {
            return CollectionResult.Failed("no_payment_method", "The customer has no default payment method.");
        }

        var gatewayCustomer = await payments.EnsureGatewayCustomerAsync(customer, cancellationToken);
        GatewayPayment payment;
        try
        {
            payment = await gateway.ChargeAsync(new ChargeRequest
            {
                Amount = new Money(invoice.AmountRemaining, Currency.FromCode(invoice.Currency)),
                GatewayCustomerId = gatewayCustomer,
                PaymentMethodId = paymentMethod,
                OffSession = offSession,
                Description = invoice.Number is null ? $"Invoice {invoice.Id}" : $"Invoice {invoice.Number}",
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [GatewayMetadata.InvoiceId] = invoice.Id,
                    [GatewayMetadata.CustomerId] = customer.Id,
                    [GatewayMetadata.InvoiceAttempt] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
                IdempotencyKey = IdempotencyKeys.InvoiceAttempt(invoice.Id, attempt),
            }, cancellationToken);
        }
        catch (PaymentDeclinedException declined)
        {
            return Declined(declined.PaymentId, declined.Failure);
        }
        catch (PaymentGatewayRejectedException rejected)
        {
            return CollectionResult.Failed(rejected.Code, rejected.Message);
        }

        return Outcome(payment);
    }

    public async Task<CollectionResult> RefreshAsync(Invoice invoice, string paymentId, CancellationToken cancellationToken = default) =>
        Outcome(await gateway.GetPaymentAsync(paymentId, cancellationToken));

    private static CollectionResult Outcome(GatewayPayment payment) =>
        payment.Status switch
        {
            PaymentStatus.Succeeded => CollectionResult.Succeeded(payment.Id, payment.AmountReceived > 0 ? payment.AmountReceived : payment.Amount.MinorUnits),
            PaymentStatus.RequiresAction when payment.ClientSecret is { } secret => CollectionResult.NeedsAction(payment.Id, secret),
            _ when payment.Failure is { } failure => Declined(payment.Id, failure),
            PaymentStatus.Processing or PaymentStatus.Pending or PaymentStatus.RequiresConfirmation or PaymentStatus.RequiresCapture =>
                throw new PaymentGatewayUnavailableException($"Payment {payment.Id} is still {payment.Status}; the attempt is repeated later.", TimeSpan.FromSeconds(30)),
            _ => CollectionResult.Failed("payment_" + Domain.Subscriptions.Subscription.Wire(payment.Status), $"The payment ended as {payment.Status}."),
        };

    private static CollectionResult Declined(string? paymentId, PaymentFailure failure) =>
        CollectionResult.Declined(paymentId, failure.DeclineCode ?? failure.Code, failure.Class, failure.Message);
}
