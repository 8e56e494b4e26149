using Billing.Domain.Catalog;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;
using Billing.Domain.Tests.Subscriptions;

namespace Billing.Domain.Tests.Invoicing;

public class ProrationTests
{
    private static DateTimeOffset Utc(int y, int m, int d, int h = 0, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    /// <summary>Independent reference: decimal seconds ratio, half away from zero.</summary>
    private static long Expected(long amount, DateTimeOffset t, BillingPeriod p) =>
        (long)Math.Round(amount * (decimal)(p.End - t).TotalSeconds / (decimal)(p.End - p.Start).TotalSeconds, MidpointRounding.AwayFromZero);

    [Fact]
    public void Change_one_second_before_a_month_end_prorates_one_second()
    {
        var period = new BillingPeriod(Utc(2026, 1, 1), Utc(2026, 2, 1));
        var t = Utc(2026, 1, 31, 23, 59, 59);
        Assert.Equal(0, Proration.Charge(Money.Of(1_000_000, "USD"), period, t).MinorUnits); // 1e6 / 2 678 400 = 0.37 → 0
        Assert.Equal(-4, Proration.Credit(Money.Of(10_000_000, "USD"), period, t).MinorUnits); // 3.73 → 4
        Assert.Equal(4, Expected(10_000_000, t, period));
    }

    [Fact]
    public void Leap_February_has_29_days_of_seconds()
    {
        var period = new BillingPeriod(Utc(2028, 1, 31), Utc(2028, 2, 29)); // 29 days
        var t = Utc(2028, 2, 14, 12);
        Assert.Equal(2_505_600, period.Seconds);
        var charge = Proration.Charge(Money.Of(2900, "EUR"), period, t);
        Assert.Equal(Expected(2900, t, period), charge.MinorUnits);
        Assert.Equal(1450, charge.MinorUnits); // exactly half: 14.5 of 29 days
    }

    [Fact]
    public void Half_a_minor_unit_rounds_away_from_zero_for_credits_and_charges()
    {
        var period = new BillingPeriod(Utc(2026, 3, 1), Utc(2026, 3, 1, 0, 0, 4));
        var t = Utc(2026, 3, 1, 0, 0, 2);
        Assert.Equal(1, Proration.Charge(Money.Of(1, "USD"), period, t).MinorUnits); // 0.5 → 1
        Assert.Equal(-1, Proration.Credit(Money.Of(1, "USD"), period, t).MinorUnits); // −0.5 → −1
    }

    [Fact]
    public void Quantity_change_credits_the_old_quantity_and_charges_the_new_one_as_separate_lines()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        world.Subscribe(BillingWorld.Price("seat", 1200, product: "Seat"), quantity: 5);
        var t = Utc(2026, 4, 10, 6);
        var period = new BillingPeriod(Utc(2026, 4, 1), Utc(2026, 5, 1));
        var result = world.Sub.ChangeItems([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Quantity = 8 }], ProrationBehavior.CreateProrations, t);
        Assert.Equal([-Expected(6000, t, period), Expected(9600, t, period)], result.ProrationItems.Select(p => p.Amount));
        Assert.Equal([-4150L, 6640], result.ProrationItems.Select(p => p.Amount)); // 20.75 of 30 days
        Assert.Equal([5L, 8], result.ProrationItems.Select(p => p.Quantity));
        Assert.Equal("Unused time on 5 × Seat after 10 Apr 2026", result.ProrationItems[0].Description);
        Assert.Equal(8, result.Subscription.Items[0].Quantity);
    }

    [Fact]
    public void Changes_during_a_trial_prorate_nothing()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000, trialDays: 30));
        var result = world.Sub.ChangeItems([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Price = BillingWorld.Price("max", 9000) }], ProrationBehavior.AlwaysInvoice, Utc(2026, 4, 12));
        Assert.Empty(result.ProrationItems);
        Assert.False(result.InvoiceNow);
        world.Apply(result);
        world.RunUntil(Utc(2026, 5, 2));
        Assert.Equal([9000L], world.Invoices.Select(i => i.Total)); // the trial-end invoice is on the new price
    }

    [Fact]
    public void Zero_decimal_currency_prorates_to_whole_yen()
    {
        var world = new BillingWorld(Utc(2026, 6, 1), "JPY");
        world.Subscribe(BillingWorld.Price("pro", 1000, "JPY"));
        var t = Utc(2026, 6, 11); // 20 of 30 days left
        var result = world.Sub.ChangeItems([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Price = BillingWorld.Price("max", 2500, "JPY") }], ProrationBehavior.CreateProrations, t);
        Assert.Equal([-667L, 1667], result.ProrationItems.Select(p => p.Amount)); // 666.67 and 1666.67 yen
        Assert.All(result.ProrationItems, p => Assert.Equal("JPY", p.Currency));
    }

    [Fact]
    public void Proration_none_changes_the_price_from_the_next_period_only()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000));
        world.Apply(world.Sub.ChangeItems([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Price = BillingWorld.Price("max", 9000) }], ProrationBehavior.None, Utc(2026, 4, 12)));
        Assert.Empty(world.Pending);
        world.RunUntil(Utc(2026, 5, 2));
        Assert.Equal([3000L, 9000], world.Invoices.Select(i => i.Total));
    }

    [Fact]
    public void Adding_an_item_mid_period_charges_only_the_remaining_time_then_bills_in_full()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        world.Subscribe(BillingWorld.Price("pro", 3000));
        var t = Utc(2026, 4, 16);
        world.Clock.SetUtcNow(t);
        world.Apply(world.Sub.ChangeItems([new ItemUpdate { Price = BillingWorld.Price("addon", 1000) }], ProrationBehavior.CreateProrations, t));
        Assert.Equal([500L], world.Pending.Select(p => p.Amount));
        world.RunUntil(Utc(2026, 5, 2));
        Assert.Equal([3000L, 1000, 500], world.Invoices[^1].Lines.Select(l => l.Amount));
    }

    [Fact]
    public void Preview_returns_the_lines_without_changing_the_subscription()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        var sub = world.Subscribe(BillingWorld.Price("pro", 3000));
        var lines = sub.PreviewChange([new ItemUpdate { ItemId = sub.Items[0].Id, Quantity = 2 }], ProrationBehavior.CreateProrations, Utc(2026, 4, 16));
        Assert.Equal([-1500L, 3000], lines.Select(l => l.Amount));
        Assert.Equal(1, sub.Items[0].Quantity);
        Assert.Same(sub, world.Sub);
    }

    [Fact]
    public void Items_must_share_currency_and_interval()
    {
        var world = new BillingWorld(Utc(2026, 4, 1));
        var sub = world.Subscribe(BillingWorld.Price("pro", 3000));
        var eur = Assert.Throws<DomainValidationException>(() => sub.ChangeItems([new ItemUpdate { Price = BillingWorld.Price("eur", 100, "EUR") }], ProrationBehavior.None, world.Now));
        Assert.Contains("items", eur.Errors.Keys);
        Assert.Throws<DomainValidationException>(() => sub.ChangeItems([new ItemUpdate { Price = BillingWorld.Price("yearly", 100, unit: IntervalUnit.Year) }], ProrationBehavior.None, world.Now));
        Assert.Throws<DomainValidationException>(() => Subscription.Create(new SubscriptionCreateInput
        {
            CustomerId = world.Customer.Id,
            Items = [new(BillingWorld.Price("a", 1)), new(BillingWorld.Price("b", 1, unit: IntervalUnit.Week))],
        }, world.Customer, "sub_x", world.Now));
    }
}
