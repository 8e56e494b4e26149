using System.Collections.Frozen;

namespace Billing.Domain.Payments;

/// <summary>
/// What a declined payment means for whoever collects the money next: try the same card again later, ask the customer
/// to act first (authenticate, update the card), or never try this card again.
/// </summary>
public enum DeclineClass
{
    /// <summary>Temporary: the same payment method may succeed later (dunning retries it on its schedule).</summary>
    RetryLater,

    /// <summary>The customer must act first: authenticate (3-D Secure), fix card data, or provide another card.</summary>
    NeedsCustomer,

    /// <summary>Never retry this payment method (lost, stolen, fraudulent, issuer said do not try again).</summary>
    NeverRetry,
}

/// <summary>
/// Why a payment attempt failed, as the card network and Stripe told us: the error <see cref="Code"/>
/// (<c>card_declined</c>, <c>expired_card</c>, …), the issuer's <see cref="DeclineCode"/>, Stripe's
/// <see cref="AdviceCode"/> when present, a message fit for the customer, and the resulting <see cref="Class"/>.
/// </summary>
public sealed record PaymentFailure(string Code, string? DeclineCode, string? AdviceCode, string Message, DeclineClass Class)
{
    /// <summary>Builds a failure and classifies it with <see cref="DeclineClassifier"/>.</summary>
    public static PaymentFailure From(string? code, string? declineCode, string? adviceCode, string? message)
    {
        var effectiveCode = string.IsNullOrEmpty(code) ? "card_declined" : code;
        return new PaymentFailure(
            effectiveCode,
            string.IsNullOrEmpty(declineCode) ? null : declineCode,
            string.IsNullOrEmpty(adviceCode) ? null : adviceCode,
            string.IsNullOrWhiteSpace(message) ? "The payment was declined." : message,
            DeclineClassifier.Classify(effectiveCode, declineCode, adviceCode));
    }
}

/// <summary>
/// Classifies declines the way Stripe's guidance reads: codes that prove the card must never be used again win; then
/// codes that need the customer; then Stripe's advice code (<c>do_not_try_again</c>, <c>confirm_card_data</c>);
/// everything else (<c>insufficient_funds</c>, <c>processing_error</c>, advice <c>try_again_later</c>, an unexplained
/// <c>generic_decline</c>) is temporary, since a bounded retry schedule is the safe default.
/// </summary>
public static class DeclineClassifier
{
    private static readonly FrozenSet<string> Never = FrozenSet.ToFrozenSet(
    [
        "lost_card", "stolen_card", "fraudulent", "pickup_card", "restricted_card", "security_violation", "merchant_blacklist",
        "revocation_of_all_authorizations", "revocation_of_authorization", "stop_payment_order", "invalid_account",
        "transaction_not_allowed",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> Customer = FrozenSet.ToFrozenSet(
    [
        "authentication_required", "payment_intent_authentication_failure", "expired_card", "incorrect_cvc", "invalid_cvc",
        "incorrect_number", "invalid_number", "invalid_expiry_month", "invalid_expiry_year", "incorrect_zip",
        "card_not_supported", "currency_not_supported", "invalid_pin", "offline_pin_required", "online_or_offline_pin_required",
        "pin_try_exceeded", "call_issuer", "new_account_information_available", "approve_with_id",
    ], StringComparer.Ordinal);

    /// <summary>Classifies a decline from Stripe's error <paramref name="code"/>, <paramref name="declineCode"/> and <paramref name="adviceCode"/>.</summary>
    public static DeclineClass Classify(string? code, string? declineCode, string? adviceCode)
    {
        string?[] codes = [declineCode, code];
        if (codes.Any(c => c is not null && Never.Contains(c)))
        {
            return DeclineClass.NeverRetry;
        }

        if (codes.Any(c => c is not null && Customer.Contains(c)))
        {
            return DeclineClass.NeedsCustomer;
        }

        switch (adviceCode)
        {
            case "do_not_try_again":
                return DeclineClass.NeverRetry;
            case "confirm_card_data":
                return DeclineClass.NeedsCustomer;
            default:
                // insufficient_funds, try_again_later, processing_error, generic_decline, do_not_honor without advice, …
                return DeclineClass.RetryLater;
        }
    }
}
