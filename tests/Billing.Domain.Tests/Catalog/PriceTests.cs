using Billing.Domain.Catalog;

namespace Billing.Domain.Tests.Catalog;

public class PriceTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Product Seats = Product.Create("prod_1", "Seats", null, null, Now);

    private static Price Make(PriceInput input) => Price.Create(input, "price_1", Seats, Now);

    private static readonly PriceTier[] Tiers = [new(5, 1000, 0), new(10, 800, 500), new(null, 500, 0)];

    [Fact]
    public void Flat_price_ignores_quantity() =>
        Assert.Equal(4900, Make(new() { Currency = "usd", Scheme = BillingScheme.Flat, UnitAmount = 4900 }).AmountFor(7).MinorUnits);

    [Fact]
    public void Per_unit_price_multiplies_seats() =>
        Assert.Equal(7 * 1200, Make(new() { Currency = "usd", Scheme = BillingScheme.PerUnit, UnitAmount = 1200 }).AmountFor(7).MinorUnits);

    [Theory]
    [InlineData(3, 3000)]                         // 3 × 10.00
    [InlineData(5, 5000)]
    [InlineData(7, 5000 + 500 + (2 * 800))]       // tier 2 flat once + 2 × 8.00
    [InlineData(12, 5000 + 500 + (5 * 800) + (2 * 500))]
    public void Graduated_tiers_price_each_unit_in_its_tier(long quantity, long expected) =>
        Assert.Equal(expected, Make(new() { Currency = "usd", Scheme = BillingScheme.Tiered, TiersMode = TiersMode.Graduated, Tiers = Tiers }).AmountFor(quantity).MinorUnits);

    [Theory]
    [InlineData(3, 3000)]
    [InlineData(7, (7 * 800) + 500)]
    [InlineData(12, 12 * 500)]
    public void Volume_tiers_price_all_units_by_the_total(long quantity, long expected) =>
        Assert.Equal(expected, Make(new() { Currency = "usd", Scheme = BillingScheme.Tiered, TiersMode = TiersMode.Volume, Tiers = Tiers }).AmountFor(quantity).MinorUnits);

    [Fact]
    public void Zero_quantity_costs_nothing() =>
        Assert.Equal(0, Make(new() { Currency = "jpy", Scheme = BillingScheme.PerUnit, UnitAmount = 500 }).AmountFor(0).MinorUnits);

    [Fact]
    public void Invalid_input_lists_every_bad_field()
    {
        var error = Assert.Throws<DomainValidationException>(() => Make(new()
        {
            Currency = "xyz",
            Scheme = BillingScheme.Tiered,
            Tiers = [new(10, 100, 0), new(5, 50, 0)],
            TrialPeriodDays = 14,
            Recurring = null,
        }));
        Assert.Contains("currency", error.Errors.Keys);
        Assert.Contains("tiers_mode", error.Errors.Keys);
        Assert.Contains("tiers[1].up_to", error.Errors.Keys);
        Assert.Contains("trial_period_days", error.Errors.Keys);
    }

    [Fact]
    public void Interval_may_not_exceed_three_years()
    {
        var error = Assert.Throws<DomainValidationException>(() => Make(new()
        {
            Currency = "usd",
            Scheme = BillingScheme.Flat,
            UnitAmount = 100,
            Recurring = new Recurrence(IntervalUnit.Month, 37),
        }));
        Assert.Contains("recurring.interval_count", error.Errors.Keys);
    }

    [Fact]
    public void Three_decimal_currency_amounts_must_end_in_zero()
    {
        var error = Assert.Throws<DomainValidationException>(() => Make(new() { Currency = "kwd", Scheme = BillingScheme.Flat, UnitAmount = 1235 }));
        Assert.Contains("unit_amount", error.Errors.Keys);
    }

    [Fact]
    public void Archived_product_takes_no_new_prices() =>
        Assert.Throws<DomainValidationException>(() => Price.Create(new() { Currency = "usd", Scheme = BillingScheme.Flat, UnitAmount = 1 }, "price_2", Seats.Archive(), Now));
}
