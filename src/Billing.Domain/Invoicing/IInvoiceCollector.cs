using Billing.Domain.Customers;
using Billing.Domain.Payments;

namespace Billing.Domain.Invoicing;

/// <summary>How one attempt to collect an invoice ended (Stripe's payment intent outcomes, reduced to what billing reacts to).</summary>
public enum CollectionStatus
{
    /// <summary>The money moved: record the payment.</summary>
    Succeeded,

    /// <summary>The customer must authenticate (3-D Secure) with <see cref="CollectionResult.ClientSecret"/>; nothing moved yet.</summary>
    RequiresAction,

    /// <summary>The card issuer refused; <see cref="CollectionResult.DeclineCode"/> says why.</summary>
    Declined,

    /// <summary>No attempt could be made (no payment method, gateway unavailable, invalid request); nothing moved.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="IInvoiceCollector.CollectAsync"/>.</summary>
public sealed record CollectionResult
{
    public required CollectionStatus Status { get; init; }

    /// <summary>The gateway's payment id (e.g. a Stripe payment intent id), when one was created.</summary>
    public string? PaymentId { get; init; }

    /// <summary>For <see cref="CollectionStatus.RequiresAction"/>: what the browser needs to finish authentication.</summary>
    public string? ClientSecret { get; init; }

    public string? DeclineCode { get; init; }

    /// <summary>What a decline means for the next attempt (dunning reads this).</summary>
    public DeclineClass? DeclineClass { get; init; }

    /// <summary>A short, customer-safe explanation (never card data).</summary>
    public string? Message { get; init; }

    /// <summary>The amount actually collected, in the invoice currency's minor units (Succeeded only).</summary>
    public long AmountCollected { get; init; }

    public static CollectionResult Succeeded(string paymentId, long amount) => new() { Status = CollectionStatus.Succeeded, PaymentId = paymentId, AmountCollected = amount };

    public static CollectionResult NeedsAction(string paymentId, string clientSecret) => new() { Status = CollectionStatus.RequiresAction, PaymentId = paymentId, ClientSecret = clientSecret };

    public static CollectionResult Declined(string? paymentId, string code, DeclineClass declineClass, string? message = null) =>
        new() { Status = CollectionStatus.Declined, PaymentId = paymentId, DeclineCode = code, DeclineClass = declineClass, Message = message };

    public static CollectionResult Failed(string code, string message) => new() { Status = CollectionStatus.Failed, DeclineCode = code, Message = message };
}

/// <summary>
/// Takes payment for an open invoice through the payment gateway, with the customer's default payment method. The
/// adapter must pass a deterministic idempotency key built from the invoice id and the attempt number
/// (<c>{invoiceId}:attempt:{n}</c>), so calling again for the same attempt (after a crash or a timeout) returns the
/// first outcome and can never charge twice. Throws when the outcome is unknown (network error): the caller keeps the
/// attempt open and repeats it later with the same number.
/// </summary>
public interface IInvoiceCollector
{
    Task<CollectionResult> CollectAsync(Invoice invoice, Customer customer, int attempt, bool offSession, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current outcome of a payment an earlier attempt started (e.g. one that required authentication, which the
    /// customer may have completed since). Never starts a new payment.
    /// </summary>
    Task<CollectionResult> RefreshAsync(Invoice invoice, string paymentId, CancellationToken cancellationToken = default);
}
