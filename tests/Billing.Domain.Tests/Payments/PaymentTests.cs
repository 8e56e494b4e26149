using Billing.Domain.Payments;

namespace Billing.Domain.Tests.Payments;

public sealed class PaymentTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static Payment Succeeded(long amount = 100) => new()
    {
        Id = "pay_1",
        CustomerId = "cus_1",
        Amount = Money.Of(amount, "USD"),
        Status = PaymentStatus.Succeeded,
        AmountReceived = amount,
        GatewayPaymentId = "pi_1",
    };

    private static GatewayPayment Reported(PaymentStatus status, long received = 0) => new()
    {
        Id = "pi_1",
        Status = status,
        Amount = Money.Of(100, "USD"),
        AmountReceived = received,
    };

    [Fact]
    public void Reservations_never_let_refunds_exceed_the_payment()
    {
        var payment = Succeeded().ReserveRefund("rfd_a", 30, Now).ReserveRefund("rfd_b", 30, Now).ReserveRefund("rfd_c", 30, Now);

        var error = Assert.Throws<InvalidStateException>(() => payment.ReserveRefund("rfd_d", 30, Now));
        Assert.Equal("refund_exceeds_remaining", error.Code);
        Assert.Equal(10, payment.Refundable);
        Assert.Same(payment, payment.ReserveRefund("rfd_a", 30, Now));
    }

    [Fact]
    public void A_released_or_failed_refund_frees_its_amount_and_a_late_pending_report_cannot_bring_it_back()
    {
        var payment = Succeeded().ReserveRefund("rfd_a", 60, Now).ReserveRefund("rfd_b", 40, Now);
        Assert.Equal(0, payment.Refundable);

        payment = payment.ReleaseRefund("rfd_a", Now).ApplyRefund("rfd_b", 40, RefundStatus.Failed, Now).ApplyRefund("rfd_b", 40, RefundStatus.Pending, Now);

        Assert.Equal(100, payment.Refundable);
        Assert.Equal(0, payment.AmountRefunded);
    }

    [Fact]
    public void A_succeeded_refund_is_not_undone_by_an_older_pending_report()
    {
        var payment = Succeeded().ReserveRefund("rfd_a", 25, Now).ApplyRefund("rfd_a", 25, RefundStatus.Succeeded, Now);

        var late = payment.ApplyRefund("rfd_a", 25, RefundStatus.Pending, Now);

        Assert.Same(payment, late);
        Assert.Equal(25, late.AmountRefunded);
    }

    [Fact]
    public void Only_succeeded_payments_can_be_refunded()
    {
        var pending = Succeeded() with { Status = PaymentStatus.Processing };

        Assert.Equal("payment_not_refundable", Assert.Throws<InvalidStateException>(() => pending.ReserveRefund("rfd_a", 1, Now)).Code);
    }

    [Fact]
    public void A_succeeded_payment_ignores_late_reports_of_earlier_states()
    {
        var payment = Succeeded();

        Assert.Same(payment, payment.Apply(Reported(PaymentStatus.Processing), Now));
        Assert.Same(payment, payment.Apply(Reported(PaymentStatus.Succeeded, 100), Now));
    }

    [Fact]
    public void A_payment_needing_action_carries_the_client_secret_only_while_it_does()
    {
        var pending = Succeeded() with { Status = PaymentStatus.Pending, AmountReceived = 0 };

        var acting = pending.Apply(Reported(PaymentStatus.RequiresAction) with { ClientSecret = "pi_1_secret_x", NextActionType = "use_stripe_sdk" }, Now);
        var done = acting.Apply(Reported(PaymentStatus.Succeeded, 100) with { ClientSecret = "pi_1_secret_x" }, Now);

        Assert.Equal("pi_1_secret_x", acting.ClientSecret);
        Assert.Null(done.ClientSecret);
        Assert.Null(done.NextActionType);
        Assert.Equal(100, done.AmountReceived);
    }

    [Theory]
    [InlineData(0L, "USD")]
    [InlineData(-1L, "USD")]
    [InlineData(49L, "USD")]
    [InlineData(10_000_000_000L, "USD")]
    [InlineData(1005L, "KWD")]
    [InlineData(199L, "KWD")]
    [InlineData(49L, "JPY")]
    public void Amounts_outside_what_Stripe_charges_are_invalid(long amount, string currency)
    {
        var input = new PaymentInput { Customer = "cus_1", Amount = amount, Currency = currency };

        var error = Assert.Throws<DomainValidationException>(() => input.Validate());
        Assert.True(error.Errors.ContainsKey("amount"));
    }

    [Theory]
    [InlineData(50L, "USD")]
    [InlineData(99_999_999L, "USD")]
    [InlineData(1010L, "KWD")]
    [InlineData(50L, "JPY")]
    public void Amounts_Stripe_charges_are_valid(long amount, string currency) =>
        Assert.Equal(amount, new PaymentInput { Customer = "cus_1", Amount = amount, Currency = currency }.Validate().MinorUnits);

    [Fact]
    public void Unknown_currencies_and_reserved_metadata_are_invalid()
    {
        var input = new PaymentInput { Customer = "cus_1", Amount = 100, Currency = "XYZ", Metadata = new Dictionary<string, string> { ["billing_payment_id"] = "x" } };

        var error = Assert.Throws<DomainValidationException>(() => input.Validate());
        Assert.True(error.Errors.ContainsKey("currency"));
        Assert.True(error.Errors.ContainsKey("metadata"));
    }

    [Fact]
    public void An_adopted_invoice_payment_counts_the_refunds_the_processor_already_made()
    {
        var reported = Reported(PaymentStatus.Succeeded, 100) with { ChargeId = "ch_1", Created = Now.AddDays(-2) };
        GatewayRefund[] refunds =
        [
            new() { Id = "re_dashboard", Status = RefundStatus.Succeeded, Amount = Money.Of(30, "USD") },
            new() { Id = "re_failed", Status = RefundStatus.Failed, Amount = Money.Of(50, "USD") },
            new() { Id = "re_ours", Status = RefundStatus.Pending, Amount = Money.Of(20, "USD"), Metadata = new Dictionary<string, string> { [GatewayMetadata.RefundId] = "rfd_1" } },
        ];

        var adopted = Payment.Adopt("pay_1", "cus_1", reported, refunds, "in_1", "Invoice ADA-0001", Now);

        Assert.Equal((PaymentStatus.Succeeded, 100L, "pi_1", "ch_1", "in_1"), (adopted.Status, adopted.AmountReceived, adopted.GatewayPaymentId, adopted.GatewayChargeId, adopted.InvoiceId));
        Assert.Equal((50L, 50L), (adopted.AmountRefunded, adopted.Refundable));
        Assert.Equal(RefundShareState.Pending, adopted.Refunds["rfd_1"].State);
        Assert.Equal(Now.AddDays(-2), adopted.Created);
        Assert.Equal("refund_exceeds_remaining", Assert.Throws<InvalidStateException>(() => adopted.ReserveRefund("rfd_2", 51, Now)).Code);
    }
}
