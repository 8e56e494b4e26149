using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Domain.Subscriptions;
using Billing.Domain.Tests.Subscriptions;

namespace Billing.Domain.Tests.Invoicing;

public class InvoiceTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static InvoiceLine Line(string id, long amount, IReadOnlyList<TaxRate>? rates = null) =>
        new() { Id = id, Kind = InvoiceLineKind.OneOff, Description = id, Amount = amount, TaxRates = rates, PeriodStart = Now, PeriodEnd = Now };

    private static Invoice Draft(IReadOnlyList<InvoiceLine> lines, long balance = 0, IReadOnlyList<Discount>? discounts = null, IReadOnlyList<TaxRate>? rates = null) =>
        Invoice.CreateDraft(new InvoiceDraftInput
        {
            CustomerId = "cus_1",
            Currency = "usd",
            Lines = lines,
            CustomerBalance = balance,
            Discounts = discounts ?? [],
            DefaultTaxRates = rates ?? [],
        }, "in_1", Now).Invoice;

    private static Invoice PaidInvoice(long amount)
    {
        var (open, _) = Draft([Line("l1", amount)]).Finalize("ADA-0001", 0, Now);
        return open.Pay(Now);
    }

    [Fact]
    public void Exclusive_tax_is_added_per_line_and_rounded_per_line()
    {
        var tax = TaxRate.Create("txr_1", "Sales tax", 10m, inclusive: false, "US-NY", Now);
        var invoice = Draft([Line("a", 105), Line("b", 105), Line("c", 105)], rates: [tax]);
        Assert.All(invoice.Lines, l => Assert.Equal(11, l.TaxAmounts.Single().Amount)); // 10.5 → 11 on each line
        Assert.Equal(315, invoice.Subtotal);
        Assert.Equal(33, invoice.TotalExclusiveTax); // not round(31.5) = 32 on the total
        Assert.Equal(348, invoice.Total);
        Assert.Equal(315, invoice.TaxAmounts.Single().TaxableAmount);
    }

    [Fact]
    public void Inclusive_tax_is_extracted_from_each_line()
    {
        var vat = TaxRate.Create("txr_2", "VAT", 20m, inclusive: true, "FR", Now);
        var invoice = Draft([Line("a", 1000, [vat]), Line("b", 1000, [vat]), Line("c", 1000, [vat])]);
        Assert.All(invoice.Lines, l =>
        {
            Assert.Equal(167, l.TaxAmounts.Single().Amount); // 1000 × 20/120 = 166.67
            Assert.Equal(833, l.TaxAmounts.Single().TaxableAmount);
            Assert.Equal(1000, l.Total);
        });
        Assert.Equal(501, invoice.TotalInclusiveTax); // per line, not 3000/6 = 500
        Assert.Equal(501, invoice.TotalTax);
        Assert.Equal(0, invoice.TotalExclusiveTax);
        Assert.Equal(3000, invoice.Total);
    }

    [Fact]
    public void Tax_is_computed_after_the_line_discount()
    {
        var vat = TaxRate.Create("txr_3", "VAT", 19m, inclusive: false, "DE", Now);
        var coupon = Coupon.Create("C15", null, 15m, null, null, CouponDuration.Forever, null, Now);
        var discount = Discount.Apply(coupon, "cus_1", null, "di_1", Now).Discount;
        var invoice = Draft([Line("a", 1999), Line("b", 333)], discounts: [discount], rates: [vat]);
        Assert.Equal([300L, 50], invoice.Lines.Select(l => l.DiscountAmounts.Single().Amount)); // 299.85 → 300; 49.95 → 50
        Assert.Equal([323L, 54], invoice.Lines.Select(l => l.TaxAmounts.Single().Amount)); // 1699 × 19 % = 322.81; 283 × 19 % = 53.77
        Assert.Equal([1699L, 283], invoice.Lines.Select(l => l.TaxAmounts.Single().TaxableAmount));
        Assert.Equal(2332 - 350 + 377, invoice.Total);
    }

    [Fact]
    public void A_once_coupon_is_used_by_the_first_invoice_it_reduces_and_not_by_a_credit_only_invoice()
    {
        var coupon = Coupon.Create("ONCE", null, 10m, null, null, CouponDuration.Once, null, Now);
        var discount = Discount.Apply(coupon, "cus_1", null, "di_1", Now).Discount;
        var credit = Invoice.CreateDraft(new InvoiceDraftInput { CustomerId = "cus_1", Currency = "USD", Lines = [Line("c", -1000)], Discounts = [discount] }, "in_1", Now);
        Assert.Null(credit.UsedDiscount);
        Assert.Equal((-1000L, 0L), (credit.Invoice.Total, credit.Invoice.TotalDiscount));
        Assert.Null(credit.Invoice.AppliedDiscount);
        var charge = Invoice.CreateDraft(new InvoiceDraftInput { CustomerId = "cus_1", Currency = "USD", Lines = [Line("a", 1000)], Discounts = [discount] }, "in_2", Now);
        Assert.Equal(100, charge.Invoice.TotalDiscount);
        Assert.Equal(1, charge.UsedDiscount!.InvoicesApplied);
        Assert.False(charge.UsedDiscount.AppliesTo("USD", Now));
    }

    [Fact]
    public void Amount_off_is_spread_over_positive_lines_without_losing_a_cent()
    {
        var coupon = Coupon.Create("TEN", null, null, 1000, "USD", CouponDuration.Forever, null, Now);
        var discount = Discount.Apply(coupon, "cus_1", null, "di_1", Now).Discount;
        var invoice = Draft([Line("a", 1000), Line("b", 2000), Line("credit", -500)], discounts: [discount]);
        Assert.Equal(1000, invoice.TotalDiscount);
        Assert.Equal([333L, 667], invoice.Lines.Take(2).Select(l => l.DiscountAmounts.Single().Amount));
        Assert.Empty(invoice.Lines[2].DiscountAmounts);
        Assert.Equal(1500, invoice.Total);
    }

    [Fact]
    public void Customer_credit_balance_is_applied_at_finalization()
    {
        var (partly, change) = Draft([Line("a", 2399)]).Finalize("ADA-0001", -1500, Now);
        Assert.Equal((-1500L, 899L, 0L, 1500L), (partly.StartingBalance, partly.AmountDue, partly.EndingBalance!.Value, change));
        Assert.Equal(InvoiceStatus.Open, partly.Status);

        var (covered, change2) = Draft([Line("a", 2399)]).Finalize("ADA-0002", -3000, Now);
        Assert.Equal((0L, -601L, 2399L), (covered.AmountDue, covered.EndingBalance!.Value, change2));
        Assert.Equal(InvoiceStatus.Paid, covered.Status);

        var (debt, change3) = Draft([Line("a", 1000)]).Finalize("ADA-0003", 250, Now); // positive balance = owed by the customer
        Assert.Equal((1250L, 0L, -250L), (debt.AmountDue, debt.EndingBalance!.Value, change3));
    }

    [Fact]
    public void Only_drafts_are_editable_and_deletable_and_finalized_invoices_are_numbered()
    {
        var draft = Draft([Line("a", 1000)]);
        Assert.Null(draft.Number);
        var edited = draft.AddLines([Line("b", 500)]).RemoveLine(draft.Lines[0].Id);
        Assert.Equal(500, edited.Total);
        draft.EnsureDeletable();

        var open = edited.Finalize("ADA-0007", 0, Now).Invoice;
        Assert.Equal("ADA-0007", open.Number);
        Assert.Throws<InvalidStateException>(() => open.AddLines([Line("c", 1)]));
        Assert.Throws<InvalidStateException>(() => open.RemoveLine(open.Lines[0].Id));
        Assert.Throws<InvalidStateException>(open.EnsureDeletable);
        Assert.Throws<InvalidStateException>(() => open.Finalize("ADA-0008", 0, Now));
        Assert.Throws<InvalidStateException>(() => draft.Pay(Now));

        var paid = open.Pay(Now);
        Assert.Equal(InvoiceStatus.Paid, paid.Status);
        Assert.Throws<InvalidStateException>(() => paid.AddLines([Line("c", 1)]));
        Assert.Throws<InvalidStateException>(() => paid.Void(Now));
        Assert.Throws<InvalidStateException>(() => paid.MarkUncollectible(Now));
        Assert.Throws<InvalidStateException>(() => paid.WithDefaultTaxRates([]));
    }

    [Fact]
    public void Uncollectible_invoices_can_still_be_paid_or_voided()
    {
        var open = Draft([Line("a", 1000)]).Finalize("ADA-0001", 0, Now).Invoice;
        var bad = open.MarkUncollectible(Now);
        Assert.Equal(InvoiceStatus.Paid, bad.Pay(Now).Status);
        var voided = bad.Void(Now);
        Assert.Equal(InvoiceStatus.Void, voided.Status);
        Assert.Throws<InvalidStateException>(() => voided.Pay(Now));
        Assert.Throws<InvalidStateException>(() => voided.MarkUncollectible(Now));
    }

    [Fact]
    public void Partial_payments_leave_the_invoice_open_until_nothing_remains()
    {
        var open = Draft([Line("a", 1000)]).Finalize("ADA-0001", 0, Now).Invoice;
        var part = open.RecordPayment(400, Now);
        Assert.Equal((InvoiceStatus.Open, 400L, 600L), (part.Status, part.AmountPaid, part.AmountRemaining));
        Assert.Throws<DomainValidationException>(() => part.RecordPayment(601, Now));
        Assert.Equal(InvoiceStatus.Paid, part.RecordPayment(600, Now).Status);
    }

    [Fact]
    public void Credit_note_cannot_exceed_the_paid_amount()
    {
        var paid = PaidInvoice(2000);
        var error = Assert.Throws<DomainValidationException>(() => CreditNote.Issue(paid, new CreditNoteInput { Amount = 2001, Outcome = CreditNoteOutcome.Refund }, "cn_1", Now));
        Assert.Contains("amount", error.Errors.Keys);

        var first = CreditNote.Issue(paid, new CreditNoteInput { Amount = 1500, Outcome = CreditNoteOutcome.Refund, Reason = CreditNoteReason.ProductUnsatisfactory }, "cn_1", Now);
        Assert.Equal("ADA-0001-CN-01", first.CreditNote.Number);
        Assert.Equal(1500, first.RefundAmount);
        Assert.Equal(0, first.CustomerBalanceChange);
        Assert.Equal(1500, first.Invoice.PostPaymentCreditNotesAmount);

        Assert.Throws<DomainValidationException>(() => CreditNote.Issue(first.Invoice, new CreditNoteInput { Amount = 501, Outcome = CreditNoteOutcome.CreditBalance }, "cn_2", Now));
        var second = CreditNote.Issue(first.Invoice, new CreditNoteInput { Amount = 500, Outcome = CreditNoteOutcome.CreditBalance }, "cn_2", Now);
        Assert.Equal("ADA-0001-CN-02", second.CreditNote.Number);
        Assert.Equal(-500, second.CustomerBalanceChange); // credit to the customer
        Assert.Equal(0, second.RefundAmount);
    }

    private static Payment PaymentOf(long amount) => new()
    {
        Id = Ids.New("pay", Now),
        CustomerId = "cus_1",
        Amount = Money.Of(amount, "USD"),
        Status = PaymentStatus.Succeeded,
        AmountReceived = amount,
        GatewayPaymentId = "pi_1",
    };

    [Fact]
    public void A_refund_credit_note_reserves_its_amount_on_the_payment_under_a_refund_named_after_the_note()
    {
        var noteId = Ids.New(CreditNote.IdPrefix, Now);
        var issued = CreditNote.Issue(PaidInvoice(2000), new CreditNoteInput { Amount = 1500, Outcome = CreditNoteOutcome.Refund, Reason = CreditNoteReason.ProductUnsatisfactory }, noteId, Now);

        var (result, payment, refund) = CreditNote.RefundThrough(issued, PaymentOf(2000), Now);

        Assert.Equal(CreditNoteRefunds.RefundIdFor(noteId), refund.Id);
        Assert.Equal(new CreditNoteRefund { Id = refund.Id, PaymentId = payment.Id, GatewayPaymentId = "pi_1", Amount = 1500 }, result.CreditNote.Refund);
        Assert.Equal((1500L, RefundStatus.Pending, RefundReason.RequestedByCustomer), (refund.Amount.MinorUnits, refund.Status, refund.Reason));
        Assert.Equal(noteId, refund.Metadata[GatewayMetadata.CreditNoteId]);
        Assert.Equal((500L, 1500L), (payment.Refundable, payment.AmountReserved));
        Assert.Equal((1500L, 1500L), (result.Invoice.RefundedAmount, result.Invoice.PostPaymentCreditNotesAmount));
    }

    [Fact]
    public void A_refund_credit_note_cannot_take_what_other_refunds_of_the_payment_already_hold()
    {
        var issued = CreditNote.Issue(PaidInvoice(2000), new CreditNoteInput { Amount = 1500, Outcome = CreditNoteOutcome.Refund }, Ids.New(CreditNote.IdPrefix, Now), Now);
        var refundedElsewhere = PaymentOf(2000).ReserveRefund("rfd_direct", 600, Now);

        var error = Assert.Throws<InvalidStateException>(() => CreditNote.RefundThrough(issued, refundedElsewhere, Now));

        Assert.Equal("refund_exceeds_remaining", error.Code);
    }

    [Fact]
    public void A_credit_note_whose_refund_failed_is_voided_and_gives_its_amounts_back_to_the_invoice()
    {
        var vat = TaxRate.Create("txr_4", "VAT", 20m, inclusive: false, "FR", Now);
        var paid = Draft([Line("a", 1000), Line("b", 500)], rates: [vat]).Finalize("ADA-0001", 0, Now).Invoice.Pay(Now);
        var issued = CreditNote.Issue(paid, new CreditNoteInput { Lines = [new(paid.Lines[0].Id, 600)], Outcome = CreditNoteOutcome.Refund }, Ids.New(CreditNote.IdPrefix, Now), Now);
        var (result, _, refund) = CreditNote.RefundThrough(issued, PaymentOf(paid.AmountPaid), Now);
        Assert.Throws<InvalidStateException>(() => result.CreditNote.VoidForFailedRefund(result.Invoice, Now));

        var failed = result.CreditNote.WithRefundState(refund with { Status = RefundStatus.Failed, GatewayRefundId = "re_1", FailureReason = "expired_or_canceled_card" });
        var (voided, invoice) = failed.VoidForFailedRefund(result.Invoice, Now.AddHours(1));

        Assert.Equal((CreditNoteStatus.Void, Now.AddHours(1)), (voided.Status, voided.VoidedAt));
        Assert.Equal((RefundStatus.Failed, "re_1", "expired_or_canceled_card"), (voided.Refund!.Status, voided.Refund.GatewayRefundId, voided.Refund.FailureReason));
        Assert.Equal((0L, 0L, InvoiceStatus.Paid, 1800L), (invoice.PostPaymentCreditNotesAmount, invoice.RefundedAmount, invoice.Status, invoice.AmountPaid));
        Assert.Empty(invoice.CreditedByLine);
        Assert.Equal(1, invoice.CreditNoteCount); // the void note keeps its number
        Assert.Equal((voided, invoice), voided.VoidForFailedRefund(invoice, Now.AddHours(2)));
        var again = CreditNote.Issue(invoice, new CreditNoteInput { Lines = [new(paid.Lines[0].Id, 1200)], Outcome = CreditNoteOutcome.CreditBalance }, Ids.New(CreditNote.IdPrefix, Now), Now);
        Assert.Equal(("ADA-0001-CN-02", -1200L), (again.CreditNote.Number, again.CustomerBalanceChange));
    }

    [Fact]
    public void Credit_note_lines_are_limited_to_the_line_total_and_carry_their_tax_share()
    {
        var vat = TaxRate.Create("txr_4", "VAT", 20m, inclusive: false, "FR", Now);
        var paid = Draft([Line("a", 1000), Line("b", 500)], rates: [vat]).Finalize("ADA-0001", 0, Now).Invoice.Pay(Now);
        var lineA = paid.Lines[0]; // total 1200 incl. 200 tax
        Assert.Throws<DomainValidationException>(() => CreditNote.Issue(paid, new CreditNoteInput { Lines = [new(lineA.Id, 1201)], Outcome = CreditNoteOutcome.Refund }, "cn_1", Now));
        var note = CreditNote.Issue(paid, new CreditNoteInput { Lines = [new(lineA.Id, 600)], Outcome = CreditNoteOutcome.Refund }, "cn_1", Now);
        Assert.Equal(100, note.CreditNote.TaxAmount);
        Assert.Throws<DomainValidationException>(() => CreditNote.Issue(note.Invoice, new CreditNoteInput { Lines = [new(lineA.Id, 601)], Outcome = CreditNoteOutcome.Refund }, "cn_2", Now));
    }

    [Fact]
    public void Credit_note_on_an_open_invoice_reduces_the_amount_due()
    {
        var open = Draft([Line("a", 1000)]).Finalize("ADA-0001", 0, Now).Invoice;
        Assert.Throws<DomainValidationException>(() => CreditNote.Issue(open, new CreditNoteInput { Amount = 100, Outcome = CreditNoteOutcome.Refund }, "cn_1", Now));
        var reduced = CreditNote.Issue(open, new CreditNoteInput { Amount = 300, Outcome = CreditNoteOutcome.ReduceAmountDue }, "cn_1", Now);
        Assert.True(reduced.CreditNote.PrePayment);
        Assert.Equal((700L, 700L), (reduced.Invoice.AmountDue, reduced.Invoice.AmountRemaining));
        var rest = CreditNote.Issue(reduced.Invoice, new CreditNoteInput { Amount = 700, Outcome = CreditNoteOutcome.ReduceAmountDue }, "cn_2", Now);
        Assert.Equal(InvoiceStatus.Paid, rest.Invoice.Status);
        Assert.Throws<InvalidStateException>(() => CreditNote.Issue(Draft([Line("a", 1)]), new CreditNoteInput { Amount = 1 }, "cn_3", Now));
    }

    [Fact]
    public void Generator_never_bills_a_period_twice()
    {
        var world = new BillingWorld(Now);
        var sub = Subscription.Create(new SubscriptionCreateInput { CustomerId = world.Customer.Id, Items = [new(BillingWorld.Price("pro", 3000))] },
            world.Customer, "sub_1", Now);
        var pending = new[] { PendingInvoiceItem.OneOff("ii_1", world.Customer.Id, "USD", "Setup fee", 5000, 1, Now) };
        var target = Now.AddMonths(2).AddDays(1); // three periods have started

        var first = InvoiceGenerator.DueLines(sub, [], pending, target);
        Assert.Equal([3000L, 3000, 3000, 5000], first.Select(l => l.Amount));
        Assert.Equal(3, first.Select(l => l.PeriodStart).Distinct().Count());

        var recorded = first.Select(InvoicedItem.From).ToList();
        Assert.Empty(InvoiceGenerator.DueLines(sub, recorded, pending, target));
        var nextMonth = InvoiceGenerator.DueLines(sub, recorded, pending, target.AddMonths(1));
        Assert.Equal([3000L], nextMonth.Select(l => l.Amount));
    }

    [Fact]
    public void A_future_billing_anchor_bills_a_prorated_partial_first_period()
    {
        var world = new BillingWorld(new DateTimeOffset(2026, 4, 21, 0, 0, 0, TimeSpan.Zero));
        world.Subscribe(BillingWorld.Price("pro", 3000), configure: i => i with { BillingCycleAnchor = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero) });
        var first = Assert.Single(world.Invoices);
        Assert.Equal(1000, first.Total); // 10 of the 30 days of [Apr 1, May 1)
        world.RunUntil(new DateTimeOffset(2026, 5, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.Equal([1000L, 3000], world.Invoices.Select(i => i.Total));
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero), world.Sub.CurrentPeriodEnd);
    }

    [Fact]
    public void Standalone_invoice_with_one_off_items()
    {
        var world = new BillingWorld(Now);
        world.Pending.Add(PendingInvoiceItem.OneOff("ii_1", world.Customer.Id, "USD", "Consulting", 15000, 3, Now));
        world.Pending.Add(PendingInvoiceItem.OneOff("ii_2", world.Customer.Id, "USD", "Goodwill", -2000, 1, Now));
        var invoice = world.BillPendingNow(BillingReason.Manual)!;
        Assert.Equal(43000, invoice.Total);
        Assert.Null(world.BillPendingNow(BillingReason.Manual));
        Assert.Throws<DomainValidationException>(() => PendingInvoiceItem.OneOff("ii_3", "cus_1", "XXX", "", 1, 0, Now));
    }
}
