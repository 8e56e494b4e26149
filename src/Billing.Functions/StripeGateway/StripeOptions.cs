using System.ComponentModel.DataAnnotations;

namespace Billing.Functions.StripeGateway;

/// <summary>
/// How the app reaches Stripe. With no <see cref="SecretKey"/> the app runs against the offline Stripe emulator
/// (in-process, or on a port when <see cref="ApiBase"/> is set), whose signed webhooks come back into this app; with a
/// key it talks to real Stripe, with no code change.
/// </summary>
public sealed class StripeOptions
{
    public const string Section = "Stripe";

    /// <summary>Secret (<c>sk_…</c>) or restricted (<c>rk_…</c>) API key; unset = the emulator.</summary>
    public string? SecretKey { get; set; }

    /// <summary>API base URL (e.g. a port-mode emulator); unset = Stripe's (or the in-process emulator's).</summary>
    public Uri? ApiBase { get; set; }

    /// <summary>Webhook signing secrets (<c>whsec_…</c>); several are accepted at once so a secret can be rotated.</summary>
    public string[] WebhookSecrets { get; set; } = [];

    /// <summary>How old (seconds) a webhook signature timestamp may be.</summary>
    [Range(1, 86_400)]
    public int WebhookTolerance { get; set; } = 300;

    /// <summary>Retries of a Stripe call after 429, 5xx, a timeout or a network error (same idempotency key).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; doubles per retry, with full jitter, capped by <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Timeout of one Stripe HTTP attempt.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Emulator only: where its webhooks are posted when the app serves HTTP itself; unset = the app's own listening
    /// address + <c>/api/webhooks/stripe</c> (locally <c>http://localhost:7071/api/webhooks/stripe</c>).
    /// </summary>
    public Uri? EmulatorWebhookUrl { get; set; }

    public bool UsesEmulator() => string.IsNullOrWhiteSpace(SecretKey);

    /// <summary>Checks the settings; returns the problems (empty when valid).</summary>
    public IEnumerable<string> Problems()
    {
        if (!UsesEmulator())
        {
            if (!SecretKey!.StartsWith("sk_", StringComparison.Ordinal) && !SecretKey.StartsWith("rk_", StringComparison.Ordinal))
            {
                yield return "Stripe:SecretKey must be a secret (sk_…) or restricted (rk_…) key.";
            }

            if (WebhookSecrets.Length == 0)
            {
                yield return "Stripe:WebhookSecrets must list at least one webhook signing secret when Stripe:SecretKey is set.";
            }
        }

        if (WebhookSecrets.Any(s => string.IsNullOrWhiteSpace(s) || !s.StartsWith("whsec_", StringComparison.Ordinal)))
        {
            yield return "Every Stripe:WebhookSecrets entry must be a webhook signing secret (whsec_…).";
        }

        if (ApiBase is not null && (!ApiBase.IsAbsoluteUri || ApiBase.Scheme is not ("http" or "https")))
        {
            yield return "Stripe:ApiBase must be an absolute http(s) URL.";
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay || RequestTimeout <= TimeSpan.Zero)
        {
            yield return "Stripe retry delays and timeout must be positive, with RetryMaxDelay ≥ RetryBaseDelay.";
        }
    }
}
