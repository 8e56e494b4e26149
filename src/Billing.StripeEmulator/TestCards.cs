namespace Billing.StripeEmulator;

/// <summary>What happens when a test card is used.</summary>
public enum CardBehavior
{
    /// <summary>Attaches and charges fine.</summary>
    Succeed,

    /// <summary>Declined on attach, setup and charge.</summary>
    Decline,

    /// <summary>Attaches fine; every charge is declined.</summary>
    DeclineOnCharge,

    /// <summary>Requires 3-D Secure authentication on every payment.</summary>
    AuthenticationRequired,

    /// <summary>Charge succeeds, then a dispute opens.</summary>
    Dispute,
}

/// <summary>A Stripe test-mode card token (<c>pm_card_*</c>) and its behaviour.</summary>
public sealed record TestCard(
    string Token,
    string Brand,
    string Last4,
    CardBehavior Behavior,
    string? Code = null,
    string? DeclineCode = null,
    string? Message = null,
    string? AdviceCode = null,
    string Funding = "credit",
    string Country = "US")
{
    /// <summary>Known tokens.</summary>
    public static IReadOnlyDictionary<string, TestCard> All { get; } = new Dictionary<string, TestCard>(StringComparer.Ordinal)
    {
        ["pm_card_visa"] = new("pm_card_visa", "visa", "4242", CardBehavior.Succeed),
        ["pm_card_visa_debit"] = new("pm_card_visa_debit", "visa", "5556", CardBehavior.Succeed, Funding: "debit"),
        ["pm_card_mastercard"] = new("pm_card_mastercard", "mastercard", "4444", CardBehavior.Succeed),
        ["pm_card_amex"] = new("pm_card_amex", "amex", "8431", CardBehavior.Succeed),
        ["pm_card_chargeDeclined"] = new(
            "pm_card_chargeDeclined", "visa", "0002", CardBehavior.Decline, "card_declined", "generic_decline", "Your card was declined."),
        ["pm_card_chargeDeclinedInsufficientFunds"] = new(
            "pm_card_chargeDeclinedInsufficientFunds", "visa", "9995", CardBehavior.Decline, "card_declined", "insufficient_funds",
            "Your card has insufficient funds.", "try_again_later"),
        ["pm_card_chargeDeclinedLostCard"] = new(
            "pm_card_chargeDeclinedLostCard", "visa", "9987", CardBehavior.Decline, "card_declined", "lost_card",
            "Your card was declined.", "do_not_try_again"),
        ["pm_card_chargeDeclinedStolenCard"] = new(
            "pm_card_chargeDeclinedStolenCard", "visa", "9979", CardBehavior.Decline, "card_declined", "stolen_card",
            "Your card was declined.", "do_not_try_again"),
        ["pm_card_chargeDeclinedExpiredCard"] = new(
            "pm_card_chargeDeclinedExpiredCard", "visa", "0069", CardBehavior.Decline, "expired_card", "expired_card",
            "Your card has expired.", "confirm_card_data"),
        ["pm_card_chargeDeclinedIncorrectCvc"] = new(
            "pm_card_chargeDeclinedIncorrectCvc", "visa", "0127", CardBehavior.Decline, "incorrect_cvc", "incorrect_cvc",
            "Your card's security code is incorrect.", "confirm_card_data"),
        ["pm_card_chargeDeclinedProcessingError"] = new(
            "pm_card_chargeDeclinedProcessingError", "visa", "0119", CardBehavior.Decline, "processing_error", "processing_error",
            "An error occurred while processing your card. Try again in a little bit.", "try_again_later"),
        ["pm_card_chargeDeclinedFraudulent"] = new(
            "pm_card_chargeDeclinedFraudulent", "visa", "0019", CardBehavior.Decline, "card_declined", "fraudulent",
            "Your card was declined.", "do_not_try_again"),
        ["pm_card_authenticationRequired"] = new(
            "pm_card_authenticationRequired", "visa", "3184", CardBehavior.AuthenticationRequired, "authentication_required",
            "authentication_required", "Your card was declined. This transaction requires authentication.", "try_again_later"),
        ["pm_card_chargeCustomerFail"] = new(
            "pm_card_chargeCustomerFail", "visa", "0341", CardBehavior.DeclineOnCharge, "card_declined", "generic_decline",
            "Your card was declined."),
        ["pm_card_createDispute"] = new("pm_card_createDispute", "visa", "0259", CardBehavior.Dispute),
    };

    /// <summary>Finds a token.</summary>
    public static TestCard? Find(string token) => All.TryGetValue(token, out var c) ? c : null;
}
