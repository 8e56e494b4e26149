namespace Billing.Functions.Storage;

/// <summary>Row-key helpers: ordering by time with plain string ranges (Azurite truncates date filters to ms).</summary>
public static class Keys
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>
    /// Maps a time-sortable id to a key that sorts the other way (newest first): every body character is replaced by its
    /// complement in the id alphabet. The prefix is kept so keys stay readable.
    /// </summary>
    public static string Descending(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var cut = id.IndexOf('_', StringComparison.Ordinal) + 1;
        return string.Create(id.Length, (id, cut), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = state.id[i];
                var index = i < state.cut ? -1 : Alphabet.IndexOf(c, StringComparison.Ordinal);
                span[i] = index < 0 ? c : Alphabet[Alphabet.Length - 1 - index];
            }
        });
    }

    /// <summary>The smallest string greater than every string starting with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return prefix[..^1] + (char)(prefix[^1] + 1);
    }

    /// <summary>An OData string literal with quotes doubled.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }
}
