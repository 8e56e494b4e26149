namespace Billing.Domain;

/// <summary>
/// Merchant key-value pairs attached to billing objects, with Stripe's limits: at most 50 keys, keys up to
/// 40 characters (no square brackets), values up to 500 characters. Updating merges; an empty value removes its key.
/// </summary>
public static class Metadata
{
    public const int MaxKeys = 50;
    public const int MaxKeyLength = 40;
    public const int MaxValueLength = 500;

    public static IReadOnlyDictionary<string, string> Empty { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public static void Validate(IReadOnlyDictionary<string, string>? metadata, ValidationErrors errors, string field = "metadata")
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (metadata is null)
        {
            return;
        }

        errors.AddIf(metadata.Count > MaxKeys, field, $"At most {MaxKeys} keys are allowed.");
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrWhiteSpace(key) || key.Length > MaxKeyLength || key.Contains('[', StringComparison.Ordinal) || key.Contains(']', StringComparison.Ordinal))
            {
                errors.Add($"{field}.{Truncate(key)}", $"Keys must be 1 to {MaxKeyLength} characters without square brackets.");
            }

            if (value is null || value.Length > MaxValueLength)
            {
                errors.Add($"{field}.{Truncate(key)}", $"Values must be at most {MaxValueLength} characters.");
            }
        }
    }

    /// <summary>Stripe's update semantics: keys in <paramref name="update"/> overwrite; an empty value deletes the key.</summary>
    public static IReadOnlyDictionary<string, string> Merge(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string>? update)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (update is null)
        {
            return current;
        }

        var merged = new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (key, value) in update)
        {
            if (string.IsNullOrEmpty(value))
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        return merged;
    }

    private static string Truncate(string key) => key.Length > MaxKeyLength ? key[..MaxKeyLength] + "…" : key;
}
