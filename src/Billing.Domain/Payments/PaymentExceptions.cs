namespace Billing.Domain.Payments;

/// <summary>The card was declined (or needs authentication that cannot happen here). Maps to HTTP 402.</summary>
public sealed class PaymentDeclinedException(PaymentFailure failure, string? paymentId = null) : Exception(failure?.Message)
{
    public PaymentFailure Failure { get; } = failure ?? throw new ArgumentNullException(nameof(failure));

    /// <summary>Our payment record of the declined attempt, when there is one.</summary>
    public string? PaymentId { get; } = paymentId;
}

/// <summary>
/// The processor could not be reached or kept failing (5xx, timeouts, rate limits) after bounded retries. Nothing is
/// known to have failed for good: retry the same step later with the same idempotency key. Maps to HTTP 503.
/// </summary>
public sealed class PaymentGatewayUnavailableException(string message, TimeSpan retryAfter, Exception? innerException = null) : Exception(message, innerException)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The processor refused the request for good (unknown payment method, already refunded, …). <see cref="Code"/> is the
/// processor's error code; the message is safe to show. Maps to HTTP 400, or 409 when <see cref="IsConflict"/>.
/// </summary>
public sealed class PaymentGatewayRejectedException(string code, string message, bool isConflict = false, string? param = null) : Exception(message)
{
    public string Code { get; } = code;

    public bool IsConflict { get; } = isConflict;

    /// <summary>The request field at fault, in our API's names, when known.</summary>
    public string? Param { get; } = param;
}
