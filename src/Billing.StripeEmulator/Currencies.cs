using System.Globalization;

namespace Billing.StripeEmulator;

/// <summary>Stripe's currency rules: exponents and minimum charge amounts.</summary>
public static class Currencies
{
    private static readonly HashSet<string> ZeroDecimal = new(StringComparer.Ordinal)
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    };

    private static readonly HashSet<string> ThreeDecimal = new(StringComparer.Ordinal) { "bhd", "jod", "kwd", "omr", "tnd" };

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "usd", "eur", "gbp", "aud", "cad", "chf", "dkk", "nok", "sek", "pln", "czk", "huf", "ron", "bgn", "nzd", "sgd", "hkd",
        "mxn", "brl", "inr", "aed", "thb", "myr", "zar", "ils", "try", "isk",
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
        "bhd", "jod", "kwd", "omr", "tnd",
    };

    private static readonly Dictionary<string, long> Minimums = new(StringComparer.Ordinal)
    {
        ["usd"] = 50,
        ["eur"] = 50,
        ["gbp"] = 30,
        ["aud"] = 50,
        ["cad"] = 50,
        ["chf"] = 50,
        ["dkk"] = 250,
        ["nok"] = 300,
        ["sek"] = 300,
        ["pln"] = 200,
        ["czk"] = 1500,
        ["huf"] = 17500,
        ["ron"] = 200,
        ["bgn"] = 100,
        ["nzd"] = 50,
        ["sgd"] = 50,
        ["hkd"] = 400,
        ["mxn"] = 1000,
        ["brl"] = 50,
        ["inr"] = 50,
        ["aed"] = 200,
        ["thb"] = 1000,
        ["myr"] = 200,
        ["jpy"] = 50,
        ["krw"] = 700,
        ["bhd"] = 200,
        ["jod"] = 400,
        ["kwd"] = 200,
        ["omr"] = 200,
        ["tnd"] = 2000,
    };

    /// <summary>Number of minor-unit digits.</summary>
    public static int Exponent(string currency) =>
        ZeroDecimal.Contains(currency) ? 0 : ThreeDecimal.Contains(currency) ? 3 : 2;

    /// <summary>Validates a currency code and an amount like Stripe does for charges.</summary>
    public static void ValidateChargeAmount(string? currency, long? amount)
    {
        var cur = ValidateCurrency(currency);
        if (amount is null)
        {
            throw StripeApiException.InvalidRequest("Missing required param: amount.", "amount", "parameter_missing");
        }

        if (amount <= 0)
        {
            throw StripeApiException.InvalidRequest("This value must be greater than or equal to 1.", "amount", "amount_too_small");
        }

        if (amount > 99_999_999)
        {
            throw StripeApiException.InvalidRequest("Amount must be no more than 999,999.99", "amount", "amount_too_large");
        }

        if (ThreeDecimal.Contains(cur) && amount % 10 != 0)
        {
            throw StripeApiException.InvalidRequest(
                $"Invalid amount for {cur}: three-decimal currencies require the last digit to be 0.", "amount", "invalid_amount");
        }

        if (Minimums.TryGetValue(cur, out var min) && amount < min)
        {
            var shown = (min / Math.Pow(10, Exponent(cur))).ToString(CultureInfo.InvariantCulture);
            throw StripeApiException.InvalidRequest($"Amount must be at least {shown} {cur}", "amount", "amount_too_small");
        }
    }

    /// <summary>Validates and lower-cases a currency.</summary>
    public static string ValidateCurrency(string? currency)
    {
        if (string.IsNullOrEmpty(currency))
        {
            throw StripeApiException.InvalidRequest("Missing required param: currency.", "currency", "parameter_missing");
        }

        var cur = currency.ToLowerInvariant();
        if (!Known.Contains(cur))
        {
            throw StripeApiException.InvalidRequest($"Invalid currency: {currency}.", "currency", "parameter_invalid_string_blank");
        }

        return cur;
    }
}
