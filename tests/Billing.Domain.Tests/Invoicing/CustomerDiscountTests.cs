using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Tests.Subscriptions;

namespace Billing.Domain.Tests.Invoicing;

/// <summary>A coupon applied to the customer, living through renewals and standalone invoices beside subscription discounts.</summary>
public class CustomerDiscountTests
{
    private static readonly TaxRate Vat20 = TaxRate.Create("txr_vat20", "VAT", 20m, inclusive: false, "FR", Utc(2020, 1, 1));

    private static DateTimeOffset Utc(int y, int m, int d, int h = 0) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    private static Discount CustomerCoupon(BillingWorld world, string id, decimal? percentOff, CouponDuration duration, int? months = null, long? amountOff = null) =>
        Discount.Apply(Coupon.Create(id, null, percentOff, amountOff, amountOff is null ? null : "usd", duration, months, world.Now), world.Customer.Id, null, "di_" + id, world.Now).Discount;

    [Fact]
    public void A_3_month_repeating_customer_coupon_discounts_exactly_the_3_monthly_invoices_created_within_3_months_of_its_application()
    {
        var world = new BillingWorld(Utc(2026, 1, 15, 9));
        world.Subscribe(BillingWorld.Price("pro", 1999), configure: i => i with { DefaultTaxRates = [Vat20] });
        world.RunUntil(Utc(2026, 1, 20, 12));

        world.CustomerDiscount = CustomerCoupon(world, "REP3", 12.5m, CouponDuration.Repeating, months: 3);
        world.RunUntil(Utc(2026, 7, 1));

        Assert.Equal(Utc(2026, 4, 20, 12), world.Customer.Discount!.End); // counted from when it was applied, not from the subscription start
        Assert.Equal([Utc(2026, 1, 15, 9), Utc(2026, 2, 15, 9), Utc(2026, 3, 15, 9), Utc(2026, 4, 15, 9), Utc(2026, 5, 15, 9), Utc(2026, 6, 15, 9)],
            world.Invoices.Select(i => i.Created));
        Assert.Equal([0L, 250, 250, 250, 0, 0], world.Invoices.Select(i => i.TotalDiscount)); // 1999 × 12.5 % = 249.875 → 250
        Assert.Equal([400L, 350, 350, 350, 400, 400], world.Invoices.Select(i => i.TotalTax)); // 20 % of 1999 → 399.8 → 400; of 1749 → 349.8 → 350
        Assert.Equal([2399L, 2099, 2099, 2099, 2399, 2399], world.Invoices.Select(i => i.Total));
        Assert.Equal([null, "REP3", "REP3", "REP3", null, null], world.Invoices.Select(i => i.AppliedDiscount?.Coupon.Id));
        Assert.Equal(3, world.Customer.Discount.InvoicesApplied);
        Assert.Equal(world.Invoices.Skip(1).Take(3).Select(i => i.Id), world.Customer.Discount.InvoiceIds);
        Assert.True(world.Customer.Discount.IsExhausted(world.Now));
        Assert.All(world.Invoices, i => Assert.Equal(InvoiceStatus.Paid, i.Status));
    }

    [Fact]
    public void A_subscription_coupon_beats_the_customer_coupon_which_takes_over_when_the_subscription_coupon_ends()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.CustomerDiscount = CustomerCoupon(world, "HALF", 50m, CouponDuration.Forever);
        world.Subscribe(BillingWorld.Price("pro", 3000), bill: false);
        var subscriptionCoupon = Coupon.Create("TEN2", null, 10m, null, null, CouponDuration.Repeating, 2, world.Now);
        world.Sub = world.Sub.SetDiscount(Discount.Apply(subscriptionCoupon, world.Customer.Id, world.Sub.Id, "di_TEN2", world.Now).Discount, world.Now);
        world.Bill(BillingReason.SubscriptionCreate);

        world.RunUntil(Utc(2026, 6, 15));

        Assert.Equal(["TEN2", "TEN2", "HALF", "HALF"], world.Invoices.Select(i => i.AppliedDiscount?.Coupon.Id));
        Assert.Equal([300L, 300, 1500, 1500], world.Invoices.Select(i => i.TotalDiscount));
        Assert.Equal([2700L, 2700, 1500, 1500], world.Invoices.Select(i => i.Total));
        Assert.Equal(2, world.Sub.Discount!.InvoicesApplied);
        Assert.Equal(2, world.Customer.Discount!.InvoicesApplied); // only the invoices it actually reduced
        Assert.Equal(world.Invoices.Skip(2).Select(i => i.Id), world.Customer.Discount.InvoiceIds);
    }

    [Fact]
    public void A_standalone_invoice_takes_the_customer_coupon_not_the_subscription_coupon()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.CustomerDiscount = CustomerCoupon(world, "WELCOME25", 25m, CouponDuration.Once);
        world.Subscribe(BillingWorld.Price("pro", 3000), bill: false);
        world.Sub = world.Sub.SetDiscount(Discount.Apply(Coupon.Create("LOYAL10", null, 10m, null, null, CouponDuration.Forever, null, world.Now),
            world.Customer.Id, world.Sub.Id, "di_LOYAL10", world.Now).Discount, world.Now);
        world.Bill(BillingReason.SubscriptionCreate);

        var oneOff = PendingInvoiceItem.OneOff("ii_setup", world.Customer.Id, "USD", "Setup", 1001, 1, world.Now).ToLine();
        var standalone = world.Issue([oneOff], BillingReason.Manual, subscriptionId: null, taxRates: []);
        world.RunUntil(Utc(2026, 4, 2));

        Assert.Equal(["LOYAL10", "WELCOME25", "LOYAL10"], world.Invoices.Select(i => i.AppliedDiscount?.Coupon.Id));
        Assert.Equal(250, standalone.TotalDiscount); // 1001 × 25 % = 250.25 → 250
        Assert.Equal(751, standalone.Total);
        Assert.Equal([2700L, 751, 2700], world.Invoices.Select(i => i.Total));
        Assert.Equal([standalone.Id], world.Customer.Discount!.InvoiceIds);
        Assert.False(world.Customer.Discount.AppliesTo("USD", world.Now)); // once: used up
    }

    [Fact]
    public void An_amount_off_customer_coupon_reduces_only_invoices_in_its_currency()
    {
        var world = new BillingWorld(Utc(2026, 3, 1), currency: "EUR");
        world.CustomerDiscount = CustomerCoupon(world, "USD5", null, CouponDuration.Forever, amountOff: 500);
        world.Subscribe(BillingWorld.Price("pro", 3000, currency: "EUR"));

        Assert.Equal(0, world.Invoices.Single().TotalDiscount);
        Assert.Equal(0, world.Customer.Discount!.InvoicesApplied);
    }

    [Fact]
    public void A_use_given_back_by_a_deleted_draft_lets_a_once_customer_coupon_reduce_the_next_invoice()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.CustomerDiscount = CustomerCoupon(world, "ONCE20", 20m, CouponDuration.Once);
        var draft = Invoice.CreateDraft(new InvoiceDraftInput
        {
            CustomerId = world.Customer.Id,
            Currency = "USD",
            Lines = [PendingInvoiceItem.OneOff("ii_1", world.Customer.Id, "USD", "Work", 5000, 1, world.Now).ToLine()],
            Discounts = [world.Customer.Discount!],
        }, "in_draft", world.Now);
        var used = world.Customer.WithDiscountUsage(draft.UsedDiscount);
        Assert.False(used.Discount!.AppliesTo("USD", world.Now));

        var released = used.WithDiscountUsage(used.Discount.ReleaseInvoice("in_draft"));

        Assert.Equal((0, 0), (released.Discount!.InvoicesApplied, released.Discount.InvoiceIds.Count));
        Assert.True(released.Discount.AppliesTo("USD", world.Now));
        Assert.Same(used.Discount, used.Discount.ReleaseInvoice("in_other")); // an invoice that never used it gives nothing back
    }

    [Fact]
    public void Only_a_discount_of_this_customer_and_of_no_subscription_can_be_its_own_and_a_deleted_customer_gets_none()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        var coupon = Coupon.Create("C", null, 10m, null, null, CouponDuration.Forever, null, world.Now);
        var others = Discount.Apply(coupon, "cus_other", null, "di_1", world.Now).Discount;
        var subscriptions = Discount.Apply(coupon, world.Customer.Id, "sub_1", "di_2", world.Now).Discount;
        var own = Discount.Apply(coupon, world.Customer.Id, null, "di_3", world.Now).Discount;

        Assert.Throws<DomainValidationException>(() => world.Customer.ApplyDiscount(others));
        Assert.Throws<DomainValidationException>(() => world.Customer.ApplyDiscount(subscriptions));
        Assert.Throws<NotFoundException>(world.Customer.RemoveDiscount);
        var deleted = world.Customer.Delete(world.Now);
        Assert.Equal("customer_deleted", Assert.Throws<InvalidStateException>(() => deleted.ApplyDiscount(own)).Code);
        var applied = world.Customer.ApplyDiscount(own);
        Assert.Same(own, applied.Discount);
        Assert.Same(own, applied.Apply(new CustomerInput { Name = "Renamed" }).Discount); // profile edits keep it
        Assert.Null(applied.RemoveDiscount().Discount);
    }

    [Fact]
    public void A_returned_redemption_lowers_the_count_and_never_below_zero()
    {
        var coupon = Coupon.Create("MAX2", null, 10m, null, null, CouponDuration.Once, null, Utc(2026, 1, 1), maxRedemptions: 2);
        var (_, once) = Discount.Apply(coupon, "cus_1", null, "di_1", Utc(2026, 1, 1));
        var (_, twice) = Discount.Apply(once, "cus_2", null, "di_2", Utc(2026, 1, 1));

        Assert.Equal("coupon_expired", Assert.Throws<InvalidStateException>(() => twice.EnsureRedeemable(Utc(2026, 1, 1))).Code);
        var returned = twice.WithRedemptionReturned();
        Assert.Equal(1, returned.TimesRedeemed);
        returned.EnsureRedeemable(Utc(2026, 1, 1));
        Assert.Equal(0, coupon.WithRedemptionReturned().TimesRedeemed);
    }
}
