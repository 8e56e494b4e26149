using System.ComponentModel.DataAnnotations;

namespace Billing.Functions.Auth;

/// <summary>
/// Who may call the API. Secret API keys are configured only as SHA-256 hashes (hex) of the key text, never the keys
/// themselves; customer tokens are signed with <see cref="CustomerTokenSigningKey"/>.
/// </summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Base64 HMAC key (≥ 32 bytes) that signs customer tokens. In Development a random one is used when unset.</summary>
    public string? CustomerTokenSigningKey { get; set; }

    /// <summary>Default lifetime of a customer token.</summary>
    public TimeSpan CustomerTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Requests per second allowed per API key or customer token (token bucket; bursts up to twice this).</summary>
    [Range(1, 100_000)]
    public int RateLimitPerSecond { get; set; } = 100;

    /// <summary>Browser origins allowed by CORS (customer-token clients), e.g. <c>https://app.example.com</c>.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var key in ApiKeys)
        {
            if (string.IsNullOrWhiteSpace(key.Id) || key.Sha256 is not { Length: 64 } || !key.Sha256.All(char.IsAsciiHexDigit))
            {
                yield return new ValidationResult("Each Auth:ApiKeys entry needs an Id and a Sha256 of 64 hex digits.", [nameof(ApiKeys)]);
            }
        }

        if (CustomerTokenSigningKey is not null && !HasStrongKey(CustomerTokenSigningKey))
        {
            yield return new ValidationResult("Auth:CustomerTokenSigningKey must be base64 of at least 32 bytes.", [nameof(CustomerTokenSigningKey)]);
        }

        if (CustomerTokenLifetime <= TimeSpan.Zero || CustomerTokenLifetime > TimeSpan.FromHours(24))
        {
            yield return new ValidationResult("Auth:CustomerTokenLifetime must be between 0 and 24 hours.", [nameof(CustomerTokenLifetime)]);
        }
    }

    private static bool HasStrongKey(string base64)
    {
        Span<byte> buffer = stackalloc byte[512];
        return Convert.TryFromBase64String(base64, buffer, out var written) && written >= 32;
    }
}

/// <summary>One secret API key: a stable id (shown in audit records) and the SHA-256 of the key.</summary>
public sealed class ApiKeyOptions
{
    public string Id { get; set; } = "";

    public string Sha256 { get; set; } = "";
}
