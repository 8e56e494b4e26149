namespace Billing.Domain.Payments;

/// <summary>
/// The payment processor (Stripe) as billing sees it: it stores customers' payment methods and moves money; every
/// amount, status and id that matters is mirrored in our own records. Every call that moves money carries a
/// deterministic idempotency key (see <see cref="IdempotencyKeys"/>) so that repeating a step can never charge or
/// refund twice. Temporary outages are retried inside the gateway with the same key; what still fails surfaces as
/// <see cref="PaymentGatewayUnavailableException"/> (try again later, same key), a rejected request as
/// <see cref="PaymentGatewayRejectedException"/>. Card declines are results (<see cref="GatewayPayment.Failure"/>),
/// not exceptions, except where noted.
/// </summary>
public interface IPaymentGateway
{
    /// <summary>Creates the processor's customer for <paramref name="customerId"/> (idempotent per customer) and returns its id.</summary>
    Task<string> CreateCustomerAsync(string customerId, string? email, string? name, CancellationToken cancellationToken = default);

    /// <summary>The processor's view of a customer: our customer id from its metadata and its default payment method.</summary>
    Task<GatewayCustomer?> GetCustomerAsync(string gatewayCustomerId, CancellationToken cancellationToken = default);

    /// <summary>Starts saving a card in the browser (off-session use later); the client secret goes to the browser.</summary>
    Task<GatewaySetupIntent> CreateSetupIntentAsync(string gatewayCustomerId, string customerId, string idempotencyKey, CancellationToken cancellationToken = default);

    Task<GatewaySetupIntent> GetSetupIntentAsync(string setupIntentId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<GatewayPaymentMethod>> ListPaymentMethodsAsync(string gatewayCustomerId, CancellationToken cancellationToken = default);

    /// <summary>The payment method, or null when the processor does not know it.</summary>
    Task<GatewayPaymentMethod?> GetPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default);

    /// <summary>Attaches a payment method (or a test token) to the customer; a card refused on attach throws <see cref="PaymentDeclinedException"/>.</summary>
    Task<GatewayPaymentMethod> AttachPaymentMethodAsync(string gatewayCustomerId, string paymentMethodId, CancellationToken cancellationToken = default);

    Task DetachPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default);

    /// <summary>Sets (or clears, with null) the customer's default payment method for invoices and off-session charges.</summary>
    Task SetDefaultPaymentMethodAsync(string gatewayCustomerId, string? paymentMethodId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates and confirms a payment. The same <see cref="ChargeRequest.IdempotencyKey"/> always yields the same
    /// processor payment, whatever the number of calls. A decline is returned with <see cref="GatewayPayment.Failure"/> set.
    /// </summary>
    Task<GatewayPayment> ChargeAsync(ChargeRequest request, CancellationToken cancellationToken = default);

    Task<GatewayPayment> GetPaymentAsync(string gatewayPaymentId, CancellationToken cancellationToken = default);

    /// <summary>Refunds part or all of a succeeded payment; the same key always yields the same refund.</summary>
    Task<GatewayRefund> RefundAsync(RefundRequest request, CancellationToken cancellationToken = default);

    Task<GatewayRefund> GetRefundAsync(string gatewayRefundId, CancellationToken cancellationToken = default);

    /// <summary>Every refund of a payment, as the processor knows them (including ones made outside this API).</summary>
    Task<IReadOnlyList<GatewayRefund>> ListRefundsAsync(string gatewayPaymentId, Currency currency, CancellationToken cancellationToken = default);
}

/// <summary>
/// Idempotency keys for processor calls, derived from our ids so that a retry of the same step reuses the same key:
/// <c>{payment id}:create</c>, <c>{refund id}:create</c>, <c>{customer id}:gateway-customer</c>, and for invoices
/// <c>{invoice id}:attempt:{n}</c> (one key per collection attempt; a retry of attempt n reuses key n).
/// </summary>
public static class IdempotencyKeys
{
    public static string PaymentCreate(string paymentId) => paymentId + ":create";

    public static string RefundCreate(string refundId) => refundId + ":create";

    public static string GatewayCustomer(string customerId) => customerId + ":gateway-customer";

    public static string InvoiceAttempt(string invoiceId, int attempt) =>
        attempt >= 1 ? $"{invoiceId}:attempt:{attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : throw new ArgumentOutOfRangeException(nameof(attempt));
}

/// <summary>Metadata keys we put on processor objects so events can be matched back to our records.</summary>
public static class GatewayMetadata
{
    public const string PaymentId = "billing_payment_id";
    public const string CustomerId = "billing_customer_id";
    public const string RefundId = "billing_refund_id";
    public const string InvoiceId = "billing_invoice_id";

    /// <summary>On invoice payments: the number of the collection attempt that started it.</summary>
    public const string InvoiceAttempt = "billing_invoice_attempt";

    /// <summary>On refunds sent for a credit note.</summary>
    public const string CreditNoteId = "billing_credit_note_id";
}

/// <summary>A request to create and confirm a payment.</summary>
public sealed record ChargeRequest
{
    /// <summary>Amount in ISO minor units; the gateway converts to the processor's units.</summary>
    public required Money Amount { get; init; }

    public required string GatewayCustomerId { get; init; }

    /// <summary>The payment method to charge; null charges the customer's default.</summary>
    public string? PaymentMethodId { get; init; }

    /// <summary>True when the customer is not present (renewals, dunning): 3-D Secure then fails as a decline instead of asking.</summary>
    public bool OffSession { get; init; }

    public string? Description { get; init; }

    /// <summary>Sent as processor metadata; include <see cref="GatewayMetadata.PaymentId"/>/<see cref="GatewayMetadata.InvoiceId"/> and <see cref="GatewayMetadata.CustomerId"/>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    /// <summary>Deterministic key from our ids, e.g. <see cref="IdempotencyKeys.PaymentCreate"/> or <see cref="IdempotencyKeys.InvoiceAttempt"/>.</summary>
    public required string IdempotencyKey { get; init; }
}

/// <summary>A request to refund a processor payment.</summary>
public sealed record RefundRequest
{
    public required string GatewayPaymentId { get; init; }

    /// <summary>Amount in ISO minor units.</summary>
    public required Money Amount { get; init; }

    public RefundReason? Reason { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public required string IdempotencyKey { get; init; }
}

/// <summary>The processor's customer.</summary>
public sealed record GatewayCustomer(string Id, string? CustomerId, string? DefaultPaymentMethodId, bool Deleted);

/// <summary>A SetupIntent: the browser confirms it with the client secret to save a card.</summary>
public sealed record GatewaySetupIntent(string Id, string Status, string ClientSecret, string? GatewayCustomerId, string? PaymentMethodId, string? CustomerId);

/// <summary>A saved payment method (never card numbers: brand, last 4 and expiry only).</summary>
public sealed record GatewayPaymentMethod(string Id, string Type, string? GatewayCustomerId, string? Brand, string? Last4, long? ExpMonth, long? ExpYear, string? Funding);

/// <summary>A payment as the processor reports it, amounts in ISO minor units.</summary>
public sealed record GatewayPayment
{
    public required string Id { get; init; }

    public required PaymentStatus Status { get; init; }

    public required Money Amount { get; init; }

    public long AmountReceived { get; init; }

    public long AmountRefunded { get; init; }

    public string? ChargeId { get; init; }

    public string? PaymentMethodId { get; init; }

    public string? CardBrand { get; init; }

    public string? CardLast4 { get; init; }

    /// <summary>For <see cref="PaymentStatus.RequiresAction"/>: the secret the browser needs to complete authentication.</summary>
    public string? ClientSecret { get; init; }

    /// <summary>For <see cref="PaymentStatus.RequiresAction"/>: what the customer must do (<c>use_stripe_sdk</c>, <c>redirect_to_url</c>).</summary>
    public string? NextActionType { get; init; }

    public string? NextActionUrl { get; init; }

    /// <summary>Why the last attempt failed (declined, authentication failed), or null.</summary>
    public PaymentFailure? Failure { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public DateTimeOffset Created { get; init; }
}

/// <summary>A refund as the processor reports it.</summary>
public sealed record GatewayRefund
{
    public required string Id { get; init; }

    public required RefundStatus Status { get; init; }

    public required Money Amount { get; init; }

    public string? GatewayPaymentId { get; init; }

    public string? FailureReason { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public DateTimeOffset Created { get; init; }
}
