using System.Security.Cryptography;

namespace Billing.Domain;

/// <summary>
/// Makes the public ids of billing objects: a kind prefix and a ULID-style body (<c>cus_01JD…</c>), whose first
/// ten characters encode the creation millisecond, so ids sort by creation time as plain strings.
/// </summary>
public static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford base32: sortable, no I/L/O/U

    /// <summary>Length of the body after the prefix and underscore.</summary>
    public const int BodyLength = 26;

    public static string New(string prefix, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return New(prefix, clock.GetUtcNow());
    }

    public static string New(string prefix, DateTimeOffset at)
    {
        Span<char> body = stackalloc char[BodyLength];
        var ms = at.ToUnixTimeMilliseconds();
        for (var i = 9; i >= 0; i--)
        {
            body[i] = Alphabet[(int)(ms & 31)];
            ms >>= 5;
        }

        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        for (var i = 10; i < BodyLength; i++)
        {
            body[i] = Alphabet[random[i - 10] & 31];
        }

        return string.Concat(prefix, "_", body);
    }

    /// <summary>
    /// A deterministic id of another kind for an object that belongs to <paramref name="sourceId"/> (e.g. the refund of a
    /// credit note): the same creation time as the source, and a body derived from the source id and
    /// <paramref name="discriminator"/> by SHA-256, so every process derives the same id and distinct sources never share one.
    /// </summary>
    public static string Derive(string prefix, string sourceId, string discriminator)
    {
        ArgumentNullException.ThrowIfNull(sourceId);
        var at = sourceId.IndexOf('_', StringComparison.Ordinal) + 1;
        if (at == 0 || sourceId.Length - at != BodyLength)
        {
            throw new ArgumentException($"'{sourceId}' is not an id.", nameof(sourceId));
        }

        Span<char> body = stackalloc char[BodyLength];
        sourceId.AsSpan(at, 10).CopyTo(body);
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sourceId + "\n" + discriminator));
        for (var i = 10; i < BodyLength; i++)
        {
            body[i] = Alphabet[hash[i - 10] & 31];
        }

        return string.Concat(prefix, "_", body);
    }

    /// <summary>True when <paramref name="id"/> is well formed for <paramref name="prefix"/> (guards storage keys against odd input).</summary>
    public static bool IsValid(string? id, string prefix)
    {
        if (id is null || id.Length != prefix.Length + 1 + BodyLength || !id.StartsWith(prefix + "_", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in id.AsSpan(prefix.Length + 1))
        {
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The creation time encoded in an id made by <see cref="New(string, DateTimeOffset)"/>.</summary>
    public static DateTimeOffset CreatedAt(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var body = id[(id.IndexOf('_', StringComparison.Ordinal) + 1)..];
        long ms = 0;
        for (var i = 0; i < 10; i++)
        {
            ms = (ms << 5) | (long)Alphabet.IndexOf(body[i], StringComparison.Ordinal);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}
