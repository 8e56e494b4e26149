using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;

namespace Billing.Domain.Tests.Subscriptions;

public class SubscriptionTimelineTests
{
    private static DateTimeOffset Utc(int y, int m, int d, int h = 0, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    private static readonly TaxRate Vat20 = TaxRate.Create("txr_vat20", "VAT", 20m, inclusive: false, "FR", Utc(2020, 1, 1));

    /// <summary>Stripe's rounding done independently: decimal arithmetic, half away from zero.</summary>
    private static long Prorate(long amount, DateTimeOffset t, DateTimeOffset start, DateTimeOffset end) =>
        (long)Math.Round(amount * (decimal)(end - t).TotalSeconds / (decimal)(end - start).TotalSeconds, MidpointRounding.AwayFromZero);

    [Fact]
    public void A_year_of_monthly_renewals_anchored_on_January_31_bills_12_exact_invoices()
    {
        var world = new BillingWorld(Utc(2028, 1, 31, 9));
        world.Subscribe(BillingWorld.Price("pro", 1999), configure: i => i with { DefaultTaxRates = [Vat20] });
        Assert.Equal(SubscriptionStatus.Active, world.Sub.Status);

        world.RunUntil(Utc(2029, 1, 30));

        DateTimeOffset[] boundaries =
        [
            Utc(2028, 1, 31, 9), Utc(2028, 2, 29, 9), Utc(2028, 3, 31, 9), Utc(2028, 4, 30, 9), Utc(2028, 5, 31, 9), Utc(2028, 6, 30, 9),
            Utc(2028, 7, 31, 9), Utc(2028, 8, 31, 9), Utc(2028, 9, 30, 9), Utc(2028, 10, 31, 9), Utc(2028, 11, 30, 9), Utc(2028, 12, 31, 9),
            Utc(2029, 1, 31, 9),
        ];
        Assert.Equal(12, world.Invoices.Count);
        for (var i = 0; i < 12; i++)
        {
            var invoice = world.Invoices[i];
            var line = Assert.Single(invoice.Lines);
            Assert.Equal((boundaries[i], boundaries[i + 1]), (line.PeriodStart, line.PeriodEnd));
            Assert.Equal(boundaries[i], invoice.Created); // billed in advance, at the period start
            Assert.Equal(1999, invoice.Subtotal);
            Assert.Equal(400, invoice.TotalTax); // 1999 × 20 % = 399.8 → 400
            Assert.Equal(2399, invoice.Total);
            Assert.Equal(2399, invoice.AmountPaid);
            Assert.Equal(InvoiceStatus.Paid, invoice.Status);
            Assert.Equal($"ADA-{i + 1:D4}", invoice.Number);
        }

        Assert.Equal(boundaries[12], world.Sub.CurrentPeriodEnd);
        Assert.Null(world.Bill()); // nothing more is due
    }

    [Fact]
    public void Upgrade_on_day_12_with_create_prorations_adds_credit_and_charge_to_the_next_invoice()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("basic", 1000));
        var item = world.Sub.Items[0];
        var t = Utc(2026, 3, 12, 13, 45, 17);
        world.Clock.SetUtcNow(t);

        var preview = world.Sub.PreviewChange([new ItemUpdate { ItemId = item.Id, Price = BillingWorld.Price("pro", 3000) }], ProrationBehavior.CreateProrations, t);
        var versionBefore = world.Sub.Version;
        world.Apply(world.Sub.ChangeItems([new ItemUpdate { ItemId = item.Id, Price = BillingWorld.Price("pro", 3000) }], ProrationBehavior.CreateProrations, t, "user:ada"));

        var (start, end) = (Utc(2026, 3, 1), Utc(2026, 4, 1));
        var credit = -Prorate(1000, t, start, end);
        var charge = Prorate(3000, t, start, end);
        Assert.Equal(1_678_483, (long)(end - t).TotalSeconds); // 19 d 10:14:43 left of a 2 678 400 s month
        Assert.Equal(-627, credit); // 1000 × 1 678 483 / 2 678 400 = 626.67
        Assert.Equal(1880, charge); // 3000 × 1 678 483 / 2 678 400 = 1880.02
        Assert.Equal([credit, charge], world.Pending.Select(p => p.Amount));
        Assert.Equal([credit, charge], preview.Select(p => p.Amount));
        Assert.All(world.Pending, p => Assert.Equal((t, end), (p.PeriodStart, p.PeriodEnd)));
        Assert.Equal(versionBefore + 1, world.Sub.Version);
        Assert.Equal("update_items", world.Sub.History[^1].Action);
        Assert.Equal("user:ada", world.Sub.History[^1].Actor);
        Assert.Contains("items", world.Sub.History[^1].Changes.Keys);

        // Before the period end only the pending prorations are due; they wait for the renewal invoice.
        var dueNow = InvoiceGenerator.DueLines(world.Sub, InvoicedItem.From(world.Invoices), world.Pending, t);
        Assert.All(dueNow, l => Assert.Equal(InvoiceLineKind.Proration, l.Kind));
        world.RunUntil(Utc(2026, 4, 2));
        var april = world.Invoices[^1];
        Assert.Equal([InvoiceLineKind.Subscription, InvoiceLineKind.Proration, InvoiceLineKind.Proration], april.Lines.Select(l => l.Kind));
        Assert.Equal([3000, credit, charge], april.Lines.Select(l => l.Amount));
        Assert.Equal(3000 + credit + charge, april.Total);
    }

    [Fact]
    public void Upgrade_with_always_invoice_bills_the_prorations_at_once()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("basic", 1000));
        var t = Utc(2026, 3, 12);
        world.Clock.SetUtcNow(t);
        world.Apply(world.Sub.ChangeItems([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Price = BillingWorld.Price("pro", 3000) }], ProrationBehavior.AlwaysInvoice, t));

        Assert.Equal(2, world.Invoices.Count);
        var now = world.Invoices[1];
        Assert.Equal(-Prorate(1000, t, Utc(2026, 3, 1), Utc(2026, 4, 1)) + Prorate(3000, t, Utc(2026, 3, 1), Utc(2026, 4, 1)), now.Total);
        Assert.Equal(-645 + 1935, now.Total); // 20 of 31 days: 645.16 and 1935.48
        Assert.Equal(InvoiceStatus.Paid, now.Status);

        world.RunUntil(Utc(2026, 4, 1));
        Assert.Equal([3000L], world.Invoices[2].Lines.Select(l => l.Amount)); // prorations are not billed twice
    }

    [Fact]
    public void Downgrade_at_period_end_bills_the_new_price_from_the_next_period_without_prorations()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000));
        world.Clock.SetUtcNow(Utc(2026, 3, 20));
        world.Sub = world.Sub.ScheduleChangeAtPeriodEnd([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Price = BillingWorld.Price("basic", 1000) }], world.Now);
        Assert.Equal(Utc(2026, 4, 1), world.Sub.ScheduledChange!.EffectiveAt);
        Assert.Equal("pro", world.Sub.Items[0].Price.Id);
        Assert.Null(world.Bill());

        world.RunUntil(Utc(2026, 5, 15));
        Assert.Equal([3000L, 1000, 1000], world.Invoices.Select(i => i.Total));
        Assert.Equal("basic", world.Sub.Items[0].Price.Id);
        Assert.Null(world.Sub.ScheduledChange);
        Assert.Empty(world.Pending);
    }

    [Fact]
    public void Trial_from_the_price_is_free_and_converts_with_the_first_invoice_at_trial_end()
    {
        var start = Utc(2026, 3, 10, 8);
        var world = new BillingWorld(start);
        world.Subscribe(BillingWorld.Price("pro", 2500, trialDays: 14));
        Assert.Equal(SubscriptionStatus.Trialing, world.Sub.Status);
        Assert.Empty(world.Invoices);
        var trialEnd = start.AddDays(14);
        Assert.Equal(trialEnd, world.Sub.TrialEnd);
        Assert.Equal(new ScheduledAction(ScheduledActionKind.TrialWillEnd, trialEnd.AddDays(-3), world.Sub.Version), world.Sub.NextAction());

        world.RunUntil(trialEnd.AddDays(-1));
        Assert.True(world.Sub.TrialWillEndNotified);
        Assert.Empty(world.Invoices);
        Assert.Equal(ScheduledActionKind.TrialEnd, world.Sub.NextAction()!.Kind);

        world.RunUntil(trialEnd.AddHours(1));
        Assert.Equal(SubscriptionStatus.Active, world.Sub.Status);
        var first = Assert.Single(world.Invoices);
        Assert.Equal((trialEnd, Utc(2026, 4, 24, 8)), (first.PeriodStart, first.PeriodEnd));
        Assert.Equal(2500, first.Total);
        Assert.Equal(Utc(2026, 4, 24, 8), world.Sub.NextActionAt);
    }

    [Fact]
    public void Cancel_at_period_end_stops_renewal_and_undo_resumes_it()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000));
        world.Clock.SetUtcNow(Utc(2026, 3, 5));
        world.Sub = world.Sub.SetCancelAtPeriodEnd(true, world.Now, "user:ada");
        Assert.Equal(Utc(2026, 4, 1), world.Sub.CancelAt);
        Assert.Equal(Utc(2026, 3, 5), world.Sub.CanceledAt);

        var undone = world.Sub.SetCancelAtPeriodEnd(false, world.Now);
        Assert.False(undone.CancelAtPeriodEnd);
        Assert.Null(undone.CancelAt);
        Assert.Null(undone.CanceledAt);
        Assert.Equal(world.Sub.Version + 1, undone.Version);

        var renewing = new BillingWorld(Utc(2026, 3, 1)) { Sub = undone };
        renewing.RunUntil(Utc(2026, 4, 2));
        Assert.Equal(SubscriptionStatus.Active, renewing.Sub.Status);
        Assert.Single(renewing.Invoices);

        world.RunUntil(Utc(2026, 6, 1));
        Assert.Equal(SubscriptionStatus.Canceled, world.Sub.Status);
        Assert.Equal(Utc(2026, 4, 1), world.Sub.EndedAt);
        Assert.Single(world.Invoices); // only the first period
        Assert.Null(world.Sub.NextAction());
        Assert.Null(world.Bill());
    }

    [Fact]
    public void Cancel_now_with_prorated_credit_goes_to_the_customer_balance_and_pays_the_next_invoice()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("pro", 3100));
        var t = Utc(2026, 3, 21); // 11 of 31 days unused
        world.Clock.SetUtcNow(t);
        world.Apply(world.Sub.CancelNow(t, "user:ada", prorate: true, invoiceNow: true));

        Assert.Equal(SubscriptionStatus.Canceled, world.Sub.Status);
        Assert.Equal(t, world.Sub.EndedAt);
        var creditInvoice = world.Invoices[^1];
        Assert.Equal(-1100, creditInvoice.Total); // 3100 × 11/31
        Assert.Equal(0, creditInvoice.AmountDue);
        Assert.Equal(InvoiceStatus.Paid, creditInvoice.Status);
        Assert.Equal(-1100, creditInvoice.EndingBalance);
        Assert.Equal(-1100, world.Balance.Balance);

        // A later standalone invoice uses the credit first.
        world.Pending.Add(PendingInvoiceItem.OneOff("ii_setup", world.Customer.Id, "USD", "Setup", 1500, 1, t));
        var later = world.BillPendingNow(BillingReason.Manual)!;
        Assert.Equal(1500, later.Total);
        Assert.Equal(-1100, later.StartingBalance);
        Assert.Equal(400, later.AmountDue);
        Assert.Equal(0, later.EndingBalance);
        Assert.Equal(0, world.Balance.Balance);
        Assert.Throws<InvalidStateException>(() => world.Sub.SetCancelAtPeriodEnd(true, t));
    }

    [Fact]
    public void Repeating_coupon_of_3_months_runs_out_on_the_4th_invoice()
    {
        var world = new BillingWorld(Utc(2028, 1, 31));
        world.Subscribe(BillingWorld.Price("pro", 2000), bill: false); // the coupon is attached before the first invoice
        var coupon = Coupon.Create("SPRING", null, 20m, null, null, CouponDuration.Repeating, 3, world.Now);
        var (discount, redeemed) = Discount.Apply(coupon, world.Customer.Id, world.Sub.Id, "di_1", world.Now);
        Assert.Equal(1, redeemed.TimesRedeemed);
        Assert.Equal(Utc(2028, 4, 30), discount.End); // Jan 31 + 3 months, clamped
        world.Sub = world.Sub.SetDiscount(discount, world.Now);
        world.Bill(BillingReason.SubscriptionCreate);

        world.RunUntil(Utc(2028, 6, 1));
        Assert.Equal([1600L, 1600, 1600, 2000, 2000], world.Invoices.Select(i => i.Total));
        Assert.Equal([400L, 400, 400, 0, 0], world.Invoices.Select(i => i.TotalDiscount));
        Assert.Equal(3, world.Sub.Discount!.InvoicesApplied);
        Assert.True(world.Sub.Discount.IsExhausted(world.Now));
    }

    [Fact]
    public void Once_coupon_applies_to_a_single_invoice()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        var coupon = Coupon.Create("WELCOME", null, 50m, null, null, CouponDuration.Once, null, world.Now);
        world.CustomerDiscount = Discount.Apply(coupon, world.Customer.Id, null, "di_1", world.Now).Discount;
        world.Subscribe(BillingWorld.Price("pro", 3000));
        world.RunUntil(Utc(2026, 5, 2));
        Assert.Equal([1500L, 3000, 3000], world.Invoices.Select(i => i.Total));
        Assert.Equal(1, world.CustomerDiscount!.InvoicesApplied);
        Assert.Equal([world.Invoices[0].Id], world.CustomerDiscount.InvoiceIds);
    }

    [Fact]
    public void Amount_off_coupon_larger_than_the_invoice_is_clamped_at_zero()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        var coupon = Coupon.Create("BIG", null, null, 5000, "usd", CouponDuration.Forever, null, world.Now);
        world.CustomerDiscount = Discount.Apply(coupon, world.Customer.Id, null, "di_1", world.Now).Discount;
        world.Subscribe(BillingWorld.Price("pro", 2000), configure: i => i with { DefaultTaxRates = [Vat20] });
        var invoice = world.Invoices[0];
        Assert.Equal(2000, invoice.Subtotal);
        Assert.Equal(2000, invoice.TotalDiscount);
        Assert.Equal(0, invoice.TotalTax);
        Assert.Equal(0, invoice.Total);
        Assert.Equal(0, invoice.AmountDue);
        Assert.Equal(InvoiceStatus.Paid, invoice.Status); // nothing due: paid at finalization
        Assert.Equal(SubscriptionStatus.Active, world.Sub.Status);
    }

    [Fact]
    public void Pause_collection_voids_renewal_invoices_until_it_resumes()
    {
        var world = new BillingWorld(Utc(2026, 3, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000));
        world.Sub = world.Sub.PauseCollectionWith(PauseCollectionBehavior.Void, Utc(2026, 4, 15), world.Now);
        world.RunUntil(Utc(2026, 5, 2));
        Assert.Equal([InvoiceStatus.Paid, InvoiceStatus.Void, InvoiceStatus.Paid], world.Invoices.Select(i => i.Status));
        Assert.Null(world.Sub.PauseCollection);
        Assert.Null(world.Bill()); // the voided period is not billed again
    }

    [Fact]
    public void Unpaid_first_invoice_expires_the_subscription_after_23_hours()
    {
        var world = new BillingWorld(Utc(2026, 3, 1)) { PayInvoices = false };
        world.Subscribe(BillingWorld.Price("pro", 3000));
        Assert.Equal(SubscriptionStatus.Incomplete, world.Sub.Status);
        Assert.Equal(new ScheduledAction(ScheduledActionKind.IncompleteExpiry, Utc(2026, 3, 1, 23), world.Sub.Version), world.Sub.NextAction());
        Assert.Throws<InvalidStateException>(() => world.Sub.ExpireIncomplete(Utc(2026, 3, 1, 22, 59, 59)));
        world.RunUntil(Utc(2026, 3, 3));
        Assert.Equal(SubscriptionStatus.IncompleteExpired, world.Sub.Status);
        Assert.Equal(Utc(2026, 3, 1, 23), world.Sub.EndedAt);
        Assert.Null(world.Sub.NextAction());
    }
}
