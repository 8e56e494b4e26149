using System.Globalization;
using System.Text;

namespace Billing.StripeEmulator;

/// <summary>
/// Stripe-style form parameters (<c>a=1&amp;metadata[k]=v&amp;expand[0]=x</c>) from a query string or a
/// form-encoded body, kept flat with bracketed keys.
/// </summary>
public sealed class FormParams
{
    private readonly List<KeyValuePair<string, string>> _pairs;

    private FormParams(List<KeyValuePair<string, string>> pairs) => _pairs = pairs;

    /// <summary>All pairs in request order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    /// <summary>Parses <c>application/x-www-form-urlencoded</c> text (with or without a leading '?').</summary>
    public static FormParams Parse(string? text)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(text))
        {
            return new FormParams(pairs);
        }

        foreach (var part in text.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = Decode(eq < 0 ? part : part[..eq]);
            var value = eq < 0 ? string.Empty : Decode(part[(eq + 1)..]);
            pairs.Add(new(key, value));
        }

        return new FormParams(pairs);
    }

    /// <summary>Merges two sets (query first, then body).</summary>
    public static FormParams Merge(FormParams first, FormParams second) => new([.. first._pairs, .. second._pairs]);

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>True when the key is present.</summary>
    public bool Has(string key) => _pairs.Exists(p => p.Key == key);

    /// <summary>The last value for a key, or null.</summary>
    public string? Get(string key)
    {
        for (var i = _pairs.Count - 1; i >= 0; i--)
        {
            if (_pairs[i].Key == key)
            {
                return _pairs[i].Value;
            }
        }

        return null;
    }

    /// <summary>Reads an integer parameter; throws a Stripe invalid_request error when malformed.</summary>
    public long? GetLong(string key)
    {
        var v = Get(key);
        if (v is null)
        {
            return null;
        }

        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            throw StripeApiException.InvalidRequest($"Invalid integer: {v}", key, "parameter_invalid_integer");
        }

        return n;
    }

    /// <summary>Reads a boolean parameter.</summary>
    public bool? GetBool(string key)
    {
        var v = Get(key);
        return v switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => throw StripeApiException.InvalidRequest($"Invalid boolean: {v}", key, "parameter_invalid_string_blank"),
        };
    }

    /// <summary>Values of a list parameter (<c>name[]=a</c> or <c>name[0]=a</c>).</summary>
    public IReadOnlyList<string> GetList(string name)
    {
        var result = new List<string>();
        foreach (var (key, value) in _pairs)
        {
            if (key.StartsWith(name + "[", StringComparison.Ordinal) && key.EndsWith(']'))
            {
                var inner = key[(name.Length + 1)..^1];
                if (inner.Length == 0 || inner.All(char.IsAsciiDigit))
                {
                    result.Add(value);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The direct children of a hash parameter: <c>metadata[a]=1</c> gives <c>a → 1</c>.
    /// Returns null when neither <c>name</c> nor any <c>name[...]</c> key is present.
    /// An empty <c>name=</c> yields an empty dictionary (Stripe's "unset all").
    /// </summary>
    public Dictionary<string, string>? GetHash(string name)
    {
        Dictionary<string, string>? result = null;
        foreach (var (key, value) in _pairs)
        {
            if (key == name)
            {
                result ??= new Dictionary<string, string>(StringComparer.Ordinal);
                continue;
            }

            if (key.StartsWith(name + "[", StringComparison.Ordinal) && key.EndsWith(']'))
            {
                var inner = key[(name.Length + 1)..^1];
                if (inner.Contains('[', StringComparison.Ordinal))
                {
                    continue;
                }

                result ??= new Dictionary<string, string>(StringComparer.Ordinal);
                result[inner] = value;
            }
        }

        return result;
    }

    /// <summary>A canonical text of all parameters (sorted), used to compare idempotent requests.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in _pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
        {
            sb.Append(key).Append('=').Append(value).Append('&');
        }

        return sb.ToString();
    }
}
