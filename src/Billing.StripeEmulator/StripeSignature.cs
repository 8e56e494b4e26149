using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Billing.StripeEmulator;

/// <summary>Computes Stripe webhook signatures (<c>Stripe-Signature: t=...,v1=...</c>).</summary>
public static class StripeSignature
{
    /// <summary>Hex HMAC-SHA256 of <c>"{timestamp}.{payload}"</c> keyed with the secret.</summary>
    public static string ComputeV1(string secret, long timestamp, string payload)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(payload);
        var data = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + payload);
        var hash = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The full header value for a payload signed at <paramref name="timestamp"/>.</summary>
    public static string ComputeHeader(string secret, string payload, DateTimeOffset timestamp)
    {
        var t = timestamp.ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"t={t},v1={ComputeV1(secret, t, payload)}");
    }

    /// <summary>Header value signed with the current wall clock.</summary>
    public static string ComputeHeader(string secret, string payload) => ComputeHeader(secret, payload, DateTimeOffset.UtcNow);
}
