using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Billing.Domain;

/// <summary>
/// An ISO 4217 currency as billing uses it: its code, its real minor-unit exponent (JPY 0, USD 2,
/// KWD 3), the symbol shown on invoices, and how Stripe expects amounts in it.
/// </summary>
/// <remarks>
/// Stripe's "zero-decimal" currencies take amounts in whole units; Stripe's three-decimal currencies
/// (BHD, JOD, KWD, OMR, TND) take amounts in thousandths that must end in 0. A few currencies have an
/// ISO exponent that differs from Stripe's (ISK and UGX are zero-decimal in ISO; Stripe treats ISK as
/// two-decimal and UGX as zero-decimal), so the Stripe exponent is kept separately.
/// </remarks>
public sealed class Currency : IEquatable<Currency>
{
    private Currency(string code, int exponent, string symbol, int stripeExponent)
    {
        Code = code;
        Exponent = exponent;
        Symbol = symbol;
        StripeExponent = stripeExponent;
    }

    /// <summary>Upper-case ISO 4217 alphabetic code, e.g. <c>USD</c>.</summary>
    public string Code { get; }

    /// <summary>ISO 4217 minor-unit exponent: amounts are stored as value × 10^Exponent.</summary>
    public int Exponent { get; }

    /// <summary>Symbol printed on documents (<c>$</c>, <c>€</c>, or the code when there is no common symbol).</summary>
    public string Symbol { get; }

    /// <summary>The exponent Stripe uses for this currency's <c>amount</c> fields.</summary>
    public int StripeExponent { get; }

    /// <summary>True for the currencies Stripe lists as zero-decimal.</summary>
    public bool IsStripeZeroDecimal => StripeZeroDecimal.Contains(Code);

    /// <summary>True when Stripe requires amounts in this currency to be divisible by 10 (three-decimal currencies).</summary>
    public bool StripeRequiresMultipleOfTen => StripeExponent == 3;

    /// <summary>Smallest amount Stripe accepts for a charge, in this currency's ISO minor units (roughly USD 0.50).</summary>
    public long StripeMinimumChargeMinor => MinimumCharges.TryGetValue(Code, out var major)
        ? (long)(major * Pow10(Exponent))
        : (long)(0.50m * Pow10(Exponent));

    /// <summary>Largest amount Stripe accepts in one charge: 99,999,999 in Stripe's units (8 digits).</summary>
    public long StripeMaximumChargeMinor => ToIsoMinor(99_999_999);

    /// <summary>Every currency this backend accepts.</summary>
    public static IReadOnlyCollection<Currency> All => Table.Values;

    /// <summary>Stripe's zero-decimal currencies (amounts in whole units).</summary>
    public static readonly FrozenSet<string> StripeZeroDecimal = FrozenSet.ToFrozenSet(
    [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ], StringComparer.Ordinal);

    private static readonly Dictionary<string, decimal> MinimumCharges = new(StringComparer.Ordinal)
    {
        ["USD"] = 0.50m,
        ["EUR"] = 0.50m,
        ["GBP"] = 0.30m,
        ["JPY"] = 50m,
        ["KRW"] = 500m,
        ["CAD"] = 0.50m,
        ["AUD"] = 0.50m,
        ["CHF"] = 0.50m,
        ["SEK"] = 3m,
        ["NOK"] = 3m,
        ["DKK"] = 2.50m,
        ["INR"] = 0.50m,
        ["BHD"] = 0.200m,
        ["KWD"] = 0.200m,
        ["JOD"] = 0.400m,
        ["OMR"] = 0.200m,
        ["TND"] = 1.500m,
        ["MXN"] = 10m,
        ["BRL"] = 0.50m,
        ["HKD"] = 4m,
        ["SGD"] = 0.50m,
        ["PLN"] = 2m,
        ["CZK"] = 15m,
        ["HUF"] = 175m,
    };

    private static readonly FrozenDictionary<string, Currency> Table = BuildTable();

    private static FrozenDictionary<string, Currency> BuildTable()
    {
        // code, ISO exponent, symbol
        (string Code, int Exponent, string Symbol)[] rows =
        [
            ("USD", 2, "$"), ("EUR", 2, "€"), ("GBP", 2, "£"), ("JPY", 0, "¥"), ("KRW", 0, "₩"), ("CNY", 2, "CN¥"),
            ("CAD", 2, "CA$"), ("AUD", 2, "A$"), ("NZD", 2, "NZ$"), ("CHF", 2, "CHF"), ("SEK", 2, "kr"), ("NOK", 2, "kr"),
            ("DKK", 2, "kr."), ("PLN", 2, "zł"), ("CZK", 2, "Kč"), ("HUF", 2, "Ft"), ("RON", 2, "lei"), ("BGN", 2, "лв"),
            ("ISK", 0, "kr"), ("TRY", 2, "₺"), ("UAH", 2, "₴"), ("INR", 2, "₹"), ("IDR", 2, "Rp"), ("MYR", 2, "RM"),
            ("PHP", 2, "₱"), ("SGD", 2, "S$"), ("HKD", 2, "HK$"), ("TWD", 2, "NT$"), ("THB", 2, "฿"), ("VND", 0, "₫"),
            ("ILS", 2, "₪"), ("AED", 2, "AED"), ("SAR", 2, "SAR"), ("QAR", 2, "QAR"), ("EGP", 2, "E£"), ("ZAR", 2, "R"),
            ("NGN", 2, "₦"), ("KES", 2, "KSh"), ("MAD", 2, "MAD"), ("BRL", 2, "R$"), ("MXN", 2, "MX$"), ("ARS", 2, "ARS"),
            ("CLP", 0, "CLP"), ("COP", 2, "COP"), ("PEN", 2, "S/"), ("PYG", 0, "₲"), ("UYU", 2, "$U"),
            ("BHD", 3, "BHD"), ("KWD", 3, "KWD"), ("JOD", 3, "JOD"), ("OMR", 3, "OMR"), ("TND", 3, "TND"),
            ("BIF", 0, "FBu"), ("DJF", 0, "Fdj"), ("GNF", 0, "FG"), ("KMF", 0, "CF"), ("MGA", 2, "Ar"), ("RWF", 0, "RF"),
            ("UGX", 0, "USh"), ("VUV", 0, "VT"), ("XAF", 0, "FCFA"), ("XOF", 0, "F CFA"), ("XPF", 0, "CFPF"),
        ];
        var table = new Dictionary<string, Currency>(StringComparer.Ordinal);
        foreach (var (code, exponent, symbol) in rows)
        {
            // Stripe's exponent: zero-decimal list → 0; three-decimal ISO currencies → 3; everything else → 2.
            var stripeExponent = StripeZeroDecimal.Contains(code) ? 0 : exponent == 3 ? 3 : 2;
            table[code] = new Currency(code, exponent, symbol, stripeExponent);
        }

        return table.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public static Currency USD => Table["USD"];
    public static Currency EUR => Table["EUR"];
    public static Currency GBP => Table["GBP"];
    public static Currency JPY => Table["JPY"];
    public static Currency KRW => Table["KRW"];
    public static Currency KWD => Table["KWD"];
    public static Currency BHD => Table["BHD"];

    /// <summary>Looks up a currency by its code, case-insensitively (<c>usd</c> and <c>USD</c> are the same).</summary>
    public static bool TryFromCode(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        currency = null;
        return code is { Length: 3 } && Table.TryGetValue(code.ToUpperInvariant(), out currency);
    }

    /// <summary>Looks up a currency by its code, or throws <see cref="ArgumentException"/> for an unsupported code.</summary>
    public static Currency FromCode(string code) =>
        TryFromCode(code, out var currency) ? currency : throw new ArgumentException($"'{code}' is not a supported ISO 4217 currency.", nameof(code));

    /// <summary>Converts an amount in ISO minor units to the integer Stripe expects in its <c>amount</c> field.</summary>
    public long ToStripeAmount(long isoMinor) => StripeExponent >= Exponent
        ? checked(isoMinor * Pow10(StripeExponent - Exponent))
        : isoMinor / Pow10(Exponent - StripeExponent);

    /// <summary>Converts a Stripe <c>amount</c> to ISO minor units.</summary>
    public long ToIsoMinor(long stripeAmount) => StripeExponent >= Exponent
        ? stripeAmount / Pow10(StripeExponent - Exponent)
        : checked(stripeAmount * Pow10(Exponent - StripeExponent));

    internal static long Pow10(int exponent)
    {
        long result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }

    public bool Equals(Currency? other) => other is not null && string.Equals(Code, other.Code, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as Currency);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Code);

    public override string ToString() => Code;

    public static bool operator ==(Currency? left, Currency? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Currency? left, Currency? right) => !(left == right);
}
