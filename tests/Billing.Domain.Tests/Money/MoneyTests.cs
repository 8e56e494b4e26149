using System.Globalization;

namespace Billing.Domain.Tests;

public class MoneyTests
{
    [Theory]
    [InlineData("JPY", 0)]
    [InlineData("KRW", 0)]
    [InlineData("USD", 2)]
    [InlineData("EUR", 2)]
    [InlineData("BHD", 3)]
    [InlineData("KWD", 3)]
    [InlineData("JOD", 3)]
    [InlineData("OMR", 3)]
    [InlineData("TND", 3)]
    public void Currencies_have_their_real_ISO_exponent(string code, int exponent) =>
        Assert.Equal(exponent, Currency.FromCode(code).Exponent);

    [Fact]
    public void Stripe_zero_decimal_list_is_known_and_converts_without_scaling()
    {
        Assert.True(Currency.JPY.IsStripeZeroDecimal);
        Assert.False(Currency.USD.IsStripeZeroDecimal);
        Assert.Equal(500, Currency.JPY.ToStripeAmount(500));
        Assert.Equal(1999, Currency.USD.ToStripeAmount(1999));
        Assert.Equal(1230, Currency.KWD.ToStripeAmount(1230));
        Assert.True(Currency.KWD.StripeRequiresMultipleOfTen);
    }

    [Fact]
    public void Iceland_krona_is_zero_decimal_in_ISO_but_two_decimal_at_Stripe()
    {
        var isk = Currency.FromCode("isk");
        Assert.Equal(0, isk.Exponent);
        Assert.Equal(150_00, isk.ToStripeAmount(150));
        Assert.Equal(150, isk.ToIsoMinor(150_00));
    }

    [Fact]
    public void Unknown_currency_is_refused() =>
        Assert.False(Currency.TryFromCode("XYZ", out _));

    [Fact]
    public void Adding_amounts_in_different_currencies_throws()
    {
        var usd = Money.Of(100, "USD");
        var eur = Money.Of(100, "EUR");
        Assert.Throws<CurrencyMismatchException>(() => usd + eur);
        Assert.Throws<CurrencyMismatchException>(() => usd < eur);
    }

    [Fact]
    public void Sums_and_differences_are_exact()
    {
        var a = Money.Of(1999, "USD");
        Assert.Equal(3998, (a + a).MinorUnits);
        Assert.Equal(-1, (a - Money.Of(2000, "USD")).MinorUnits);
        Assert.Equal(5997, (a * 3).MinorUnits);
    }

    [Fact]
    public void Splitting_100_into_3_gives_34_33_33()
    {
        var parts = Money.Of(100, "USD").Allocate(3);
        Assert.Equal([34, 33, 33], parts.Select(p => p.MinorUnits));
    }

    [Fact]
    public void Negative_amounts_split_symmetrically()
    {
        var parts = Money.Of(-100, "USD").Allocate(3);
        Assert.Equal([-34, -33, -33], parts.Select(p => p.MinorUnits));
    }

    [Fact]
    public void Allocation_by_ratio_never_loses_a_minor_unit()
    {
        var parts = Money.Of(1000, "JPY").Allocate([1, 1, 1, 1, 1, 1, 1]);
        Assert.Equal(1000, parts.Sum(p => p.MinorUnits));
        var weighted = Money.Of(1001, "USD").Allocate([70, 20, 10]);
        Assert.Equal([701, 200, 100], weighted.Select(p => p.MinorUnits));
    }

    [Theory]
    [InlineData(1000, 1, 3, 333)]    // 333.33 → 333
    [InlineData(1000, 2, 3, 667)]    // 666.67 → 667
    [InlineData(5, 1, 2, 3)]         // 2.5 → 3 (half away from zero)
    [InlineData(-5, 1, 2, -3)]       // −2.5 → −3
    [InlineData(15, 1, 10, 2)]       // 1.5 → 2
    [InlineData(25, 1, 10, 3)]       // 2.5 → 3, not banker's 2
    public void Ratios_round_half_away_from_zero(long amount, long numerator, long denominator, long expected) =>
        Assert.Equal(expected, Money.Of(amount, "USD").MultiplyRatio(numerator, denominator).MinorUnits);

    [Fact]
    public void Rates_round_once_half_away_from_zero()
    {
        Assert.Equal(250, Money.Of(1250, "USD").MultiplyRate(0.2m).MinorUnits);
        Assert.Equal(1, Money.Of(5, "USD").MultiplyRate(0.1m).MinorUnits);   // 0.5 → 1
        Assert.Equal(3, Money.Of(25, "USD").MultiplyRate(0.1m).MinorUnits);  // 2.5 → 3
    }

    [Fact]
    public void FromMajor_refuses_digits_the_currency_does_not_have()
    {
        Assert.Equal(1999, Money.FromMajor(19.99m, Currency.USD).MinorUnits);
        Assert.Equal(1234, Money.FromMajor(1.234m, Currency.KWD).MinorUnits);
        Assert.Throws<ArgumentException>(() => Money.FromMajor(1.5m, Currency.JPY));
    }

    [Theory]
    [InlineData(123450, "USD", "en-US", "$1,234.50")]
    [InlineData(123450, "EUR", "de-DE", "1.234,50 €")]
    [InlineData(1235, "JPY", "en-US", "¥1,235")]
    [InlineData(1234, "KWD", "en-US", "KWD 1.234")]
    [InlineData(-500, "USD", "en-US", "-$5.00")]
    public void Formats_with_the_currency_symbol_and_exponent(long minor, string code, string culture, string expected) =>
        Assert.Equal(expected, Money.Of(minor, code).Format(CultureInfo.GetCultureInfo(culture)).Replace('\u00A0', ' '));

    [Fact]
    public void Machine_form_has_exactly_the_currency_decimals() =>
        Assert.Equal("1.230 KWD", Money.Of(1230, "KWD").ToString());
}
