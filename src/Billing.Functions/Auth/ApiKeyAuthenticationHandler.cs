using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Auth;

/// <summary>
/// Reads <c>Authorization: Bearer …</c>. A secret key (<c>sk_…</c>) is hashed with SHA-256 and compared in constant
/// time with every configured hash; a customer token (<c>ct_…</c>) is verified by <see cref="CustomerTokens"/>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyRegistry keys,
    CustomerTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("Use 'Authorization: Bearer <key>'."));
        }

        var credential = header["Bearer ".Length..].Trim();
        ClaimsIdentity? identity = null;
        if (credential.StartsWith("sk_", StringComparison.Ordinal) && keys.Find(credential) is { } keyId)
        {
            identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Role, Caller.RoleAdmin), new Claim(Caller.ActorClaim, "key:" + keyId)], SchemeName);
        }
        else if (tokens.Validate(credential) is { } customerId)
        {
            identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Role, Caller.RoleCustomer), new Claim(Caller.CustomerClaim, customerId), new Claim(Caller.ActorClaim, "customer:" + customerId)], SchemeName);
        }

        return Task.FromResult(identity is null
            ? AuthenticateResult.Fail("Invalid API key or token.")
            : AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

/// <summary>The configured API keys (hashes only), plus the Development key generated at start-up.</summary>
public sealed class ApiKeyRegistry
{
    private readonly List<(string Id, byte[] Hash)> hashes = [];

    public ApiKeyRegistry(IOptions<AuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var key in options.Value.ApiKeys)
        {
            hashes.Add((key.Id, Convert.FromHexString(key.Sha256)));
        }
    }

    public bool IsEmpty => hashes.Count == 0;

    /// <summary>Adds a key by its plain text (only for the Development key, which is never stored).</summary>
    public void AddPlain(string id, string key) => hashes.Add((id, Hash(key)));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The id of the key, or null. Compares against every configured hash so timing does not reveal which matched.</summary>
    public string? Find(string key)
    {
        var hash = Hash(key);
        string? found = null;
        foreach (var (id, candidate) in hashes)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, candidate))
            {
                found ??= id;
            }
        }

        return found;
    }
}
