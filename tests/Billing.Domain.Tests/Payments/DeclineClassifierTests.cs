using Billing.Domain.Payments;

namespace Billing.Domain.Tests.Payments;

public sealed class DeclineClassifierTests
{
    [Theory]
    [InlineData("card_declined", "insufficient_funds", null, DeclineClass.RetryLater)]
    [InlineData("card_declined", "insufficient_funds", "try_again_later", DeclineClass.RetryLater)]
    [InlineData("card_declined", "try_again_later", null, DeclineClass.RetryLater)]
    [InlineData("processing_error", "processing_error", "try_again_later", DeclineClass.RetryLater)]
    [InlineData("card_declined", "generic_decline", "try_again_later", DeclineClass.RetryLater)]
    [InlineData("card_declined", "generic_decline", null, DeclineClass.RetryLater)]
    [InlineData("card_declined", "do_not_honor", null, DeclineClass.RetryLater)]
    [InlineData("authentication_required", "authentication_required", "try_again_later", DeclineClass.NeedsCustomer)]
    [InlineData("expired_card", "expired_card", null, DeclineClass.NeedsCustomer)]
    [InlineData("incorrect_cvc", "incorrect_cvc", "confirm_card_data", DeclineClass.NeedsCustomer)]
    [InlineData("card_declined", "generic_decline", "confirm_card_data", DeclineClass.NeedsCustomer)]
    [InlineData("payment_intent_authentication_failure", null, null, DeclineClass.NeedsCustomer)]
    [InlineData("card_declined", "lost_card", null, DeclineClass.NeverRetry)]
    [InlineData("card_declined", "stolen_card", "try_again_later", DeclineClass.NeverRetry)]
    [InlineData("card_declined", "fraudulent", null, DeclineClass.NeverRetry)]
    [InlineData("card_declined", "pickup_card", null, DeclineClass.NeverRetry)]
    [InlineData("card_declined", "do_not_honor", "do_not_try_again", DeclineClass.NeverRetry)]
    [InlineData("card_declined", "generic_decline", "do_not_try_again", DeclineClass.NeverRetry)]
    [InlineData(null, null, null, DeclineClass.RetryLater)]
    public void Declines_are_classified_by_code_then_advice(string? code, string? declineCode, string? advice, DeclineClass expected) =>
        Assert.Equal(expected, DeclineClassifier.Classify(code, declineCode, advice));

    [Fact]
    public void A_failure_keeps_the_codes_and_a_plain_message()
    {
        var failure = PaymentFailure.From(null, "", null, " ");

        Assert.Equal("card_declined", failure.Code);
        Assert.Null(failure.DeclineCode);
        Assert.Equal("The payment was declined.", failure.Message);
        Assert.Equal(DeclineClass.RetryLater, failure.Class);
    }

    [Fact]
    public void Invoice_attempts_have_one_key_per_attempt()
    {
        Assert.Equal("in_1:attempt:2", IdempotencyKeys.InvoiceAttempt("in_1", 2));
        Assert.Equal("pay_1:create", IdempotencyKeys.PaymentCreate("pay_1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdempotencyKeys.InvoiceAttempt("in_1", 0));
    }
}
