using System.Globalization;

namespace Billing.Domain;

/// <summary>
/// An amount of money: a signed count of the currency's ISO minor units (cents, yen, fils) and the
/// currency. Stored amounts are never <see cref="double"/> or <see cref="decimal"/>.
/// </summary>
/// <remarks>
/// <para><b>Rounding rule.</b> Sums, differences and integer multiples are exact. Wherever a fraction of a
/// minor unit arises — a percentage, a tax rate, a proration ratio, a unit price times a fractional
/// quantity — the exact rational result is computed (128-bit integers or <see cref="decimal"/>, never
/// binary floating point) and rounded once, to the nearest minor unit, with halves rounded away from
/// zero (commercial rounding: 0.5 → 1, −0.5 → −1, 2.5 → 3). Rounding happens per line, never on a
/// running total. When an amount must be split, use <see cref="Allocate(int)"/>: the parts always add up
/// to the whole, and the leftover minor units go to the first parts (100 into 3 → 34/33/33).</para>
/// <para>Arithmetic between two amounts in different currencies throws <see cref="CurrencyMismatchException"/>.</para>
/// </remarks>
public readonly record struct Money : IComparable<Money>
{
    private readonly Currency? currency;

    public Money(long minorUnits, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        MinorUnits = minorUnits;
        this.currency = currency;
    }

    /// <summary>The amount in ISO minor units (e.g. 1999 = USD 19.99, 1999 = JPY 1,999, 1999 = KWD 1.999).</summary>
    public long MinorUnits { get; }

    /// <summary>The currency of the amount.</summary>
    public Currency Currency => currency ?? throw new InvalidOperationException("Money has no currency (default value).");

    public bool IsZero => MinorUnits == 0;

    public bool IsNegative => MinorUnits < 0;

    public bool IsPositive => MinorUnits > 0;

    public static Money Zero(Currency currency) => new(0, currency);

    public static Money Of(long minorUnits, string currencyCode) => new(minorUnits, Currency.FromCode(currencyCode));

    /// <summary>Builds an amount from a major-unit decimal (19.99 USD → 1999); throws if it has more digits than the currency allows.</summary>
    public static Money FromMajor(decimal amount, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        var scaled = amount * Currency.Pow10(currency.Exponent);
        if (scaled != decimal.Truncate(scaled))
        {
            throw new ArgumentException($"{amount} has more decimal places than {currency.Code} allows ({currency.Exponent}).", nameof(amount));
        }

        return new Money(decimal.ToInt64(scaled), currency);
    }

    /// <summary>The amount in major units, for display and reports only.</summary>
    public decimal ToMajor() => (decimal)MinorUnits / Currency.Pow10(Currency.Exponent);

    public Money Negate() => new(checked(-MinorUnits), Currency);

    public Money Abs() => new(Math.Abs(MinorUnits), Currency);

    public Money Add(Money other) => new(checked(MinorUnits + SameCurrency(other).MinorUnits), Currency);

    public Money Subtract(Money other) => new(checked(MinorUnits - SameCurrency(other).MinorUnits), Currency);

    public Money Multiply(long factor) => new(checked(MinorUnits * factor), Currency);

    public static Money Min(Money a, Money b) => a.CompareTo(b) <= 0 ? a : b;

    public static Money Max(Money a, Money b) => a.CompareTo(b) >= 0 ? a : b;

    /// <summary>
    /// This amount × <paramref name="numerator"/> / <paramref name="denominator"/>, computed exactly in 128-bit
    /// integers and rounded half away from zero (the proration and ratio primitive).
    /// </summary>
    public Money MultiplyRatio(long numerator, long denominator) =>
        new(RoundRatio((Int128)MinorUnits * numerator, denominator), Currency);

    /// <summary>
    /// This amount × <paramref name="rate"/> (e.g. 0.2 for 20 %), computed in <see cref="decimal"/> and rounded
    /// half away from zero to a minor unit.
    /// </summary>
    public Money MultiplyRate(decimal rate) =>
        new(decimal.ToInt64(decimal.Round(MinorUnits * rate, 0, MidpointRounding.AwayFromZero)), Currency);

    /// <summary>Rounds numerator / denominator to the nearest integer, halves away from zero.</summary>
    public static long RoundRatio(Int128 numerator, long denominator)
    {
        if (denominator == 0)
        {
            throw new DivideByZeroException("Ratio denominator is zero.");
        }

        if (denominator < 0)
        {
            numerator = -numerator;
            denominator = -denominator;
        }

        var negative = numerator < 0;
        var abs = negative ? -numerator : numerator;
        var quotient = abs / denominator;
        var remainder = abs % denominator;
        if (remainder * 2 >= denominator)
        {
            quotient++;
        }

        return checked((long)(negative ? -quotient : quotient));
    }

    /// <summary>Splits the amount into <paramref name="parts"/> equal shares that add up exactly (100 → 34/33/33).</summary>
    public IReadOnlyList<Money> Allocate(int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        var ratios = new long[parts];
        Array.Fill(ratios, 1);
        return Allocate(ratios);
    }

    /// <summary>
    /// Splits the amount in proportion to <paramref name="ratios"/> without losing a minor unit: every share is
    /// rounded down, then the leftover units go one each to the shares with the largest remainders (earlier
    /// shares first on ties).
    /// </summary>
    public IReadOnlyList<Money> Allocate(IReadOnlyList<long> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        if (ratios.Count == 0 || ratios.Any(r => r < 0) || ratios.Sum() <= 0)
        {
            throw new ArgumentException("Ratios must be non-negative with a positive total.", nameof(ratios));
        }

        Int128 total = 0;
        foreach (var r in ratios)
        {
            total += r;
        }

        var sign = MinorUnits < 0 ? -1 : 1;
        Int128 amount = Math.Abs(MinorUnits);
        var shares = new long[ratios.Count];
        var remainders = new Int128[ratios.Count];
        Int128 allocated = 0;
        for (var i = 0; i < ratios.Count; i++)
        {
            var exact = amount * ratios[i];
            shares[i] = (long)(exact / total);
            remainders[i] = exact % total;
            allocated += shares[i];
        }

        var leftover = (long)(amount - allocated);
        foreach (var index in Enumerable.Range(0, ratios.Count).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take((int)leftover))
        {
            shares[index]++;
        }

        var currencyOfShares = Currency;
        return [.. shares.Select(s => new Money(sign * s, currencyOfShares))];
    }

    /// <summary>
    /// Formats for people in <paramref name="culture"/>'s conventions with the currency's own symbol and exactly
    /// its exponent's decimals: USD 1234.5 → "$1,234.50" (en-US), "1.234,50 $" (de-DE); JPY → "¥1,235"; KWD → "KWD 1.234".
    /// </summary>
    public string Format(CultureInfo? culture = null)
    {
        culture ??= CultureInfo.GetCultureInfo("en-US");
        var format = (NumberFormatInfo)culture.NumberFormat.Clone();
        format.CurrencySymbol = Currency.Symbol.Length > 1 && Currency.Symbol.All(char.IsAsciiLetterUpper) ? Currency.Symbol + " " : Currency.Symbol;
        format.CurrencyDecimalDigits = Currency.Exponent;
        return ToMajor().ToString("C", format).Replace("  ", " ", StringComparison.Ordinal);
    }

    /// <summary>Machine form: amount with the currency's decimals and its code, e.g. "1234.50 USD".</summary>
    public override string ToString() =>
        ToMajor().ToString("F" + Currency.Exponent.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " " + Currency.Code;

    public int CompareTo(Money other) => MinorUnits.CompareTo(SameCurrency(other).MinorUnits);

    private Money SameCurrency(Money other) =>
        other.Currency == Currency ? other : throw new CurrencyMismatchException(Currency, other.Currency);

    public static Money operator +(Money left, Money right) => left.Add(right);

    public static Money operator -(Money left, Money right) => left.Subtract(right);

    public static Money operator -(Money value) => value.Negate();

    public static Money operator *(Money left, long right) => left.Multiply(right);

    public static bool operator <(Money left, Money right) => left.CompareTo(right) < 0;

    public static bool operator >(Money left, Money right) => left.CompareTo(right) > 0;

    public static bool operator <=(Money left, Money right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Money left, Money right) => left.CompareTo(right) >= 0;
}

/// <summary>Thrown when amounts in two different currencies are combined.</summary>
public sealed class CurrencyMismatchException(Currency left, Currency right)
    : InvalidOperationException($"Cannot combine {left.Code} with {right.Code}.")
{
    public Currency Left { get; } = left;

    public Currency Right { get; } = right;
}
