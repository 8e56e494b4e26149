using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Auth;

/// <summary>
/// Short-lived customer-scoped tokens for browser clients: <c>ct_{payload}.{signature}</c> where the payload is
/// base64url JSON <c>{"c": customer id, "e": expiry (unix s), "n": nonce}</c> and the signature is HMAC-SHA256 over the
/// payload text with the configured signing key. Verification is constant-time.
/// </summary>
public sealed class CustomerTokens
{
    public const string Prefix = "ct_";
    private readonly byte[] key;
    private readonly TimeProvider clock;

    public CustomerTokens(IOptions<AuthOptions> options, IHostEnvironment environment, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        this.clock = clock;
        var configured = options.Value.CustomerTokenSigningKey;
        if (configured is not null)
        {
            key = Convert.FromBase64String(configured);
        }
        else if (environment.IsDevelopment())
        {
            key = RandomNumberGenerator.GetBytes(32);
        }
        else
        {
            throw new OptionsValidationException(AuthOptions.Section, typeof(AuthOptions), ["Auth:CustomerTokenSigningKey is required outside Development."]);
        }

        DefaultLifetime = options.Value.CustomerTokenLifetime;
    }

    public TimeSpan DefaultLifetime { get; }

    public (string Token, DateTimeOffset ExpiresAt) Issue(string customerId, TimeSpan? lifetime = null)
    {
        var expires = clock.GetUtcNow() + (lifetime ?? DefaultLifetime);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new TokenPayload(customerId, expires.ToUnixTimeSeconds(), Convert.ToHexString(RandomNumberGenerator.GetBytes(8))));
        var encoded = Base64Url.EncodeToString(payload);
        return (Prefix + encoded + "." + Base64Url.EncodeToString(Sign(encoded)), DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    /// <summary>The customer id of a valid, unexpired token; null for anything else.</summary>
    public string? Validate(string token)
    {
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 1024)
        {
            return null;
        }

        var dot = token.LastIndexOf('.');
        if (dot <= Prefix.Length)
        {
            return null;
        }

        var encoded = token[Prefix.Length..dot];
        Span<byte> signature = stackalloc byte[64];
        if (!Base64Url.TryDecodeFromChars(token.AsSpan(dot + 1), signature, out var length) || length != 32 ||
            !CryptographicOperations.FixedTimeEquals(signature[..length], Sign(encoded)))
        {
            return null;
        }

        try
        {
            var payload = JsonSerializer.Deserialize<TokenPayload>(Base64Url.DecodeFromChars(encoded));
            return payload is not null && payload.E > clock.GetUtcNow().ToUnixTimeSeconds() ? payload.C : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }

    private byte[] Sign(string encodedPayload) => HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(encodedPayload));

    private sealed record TokenPayload(string C, long E, string N);
}
