namespace Billing.StripeEmulator;

/// <summary>Settings for a <see cref="StripeEmulator"/>.</summary>
public sealed class StripeEmulatorOptions
{
    /// <summary>The API version stamped on events (must match Stripe.net's pinned version).</summary>
    public string ApiVersion { get; set; } = StripeEmulator.PinnedApiVersion;

    /// <summary>
    /// When non-empty only these API keys are accepted; otherwise any <c>sk_test_...</c> (or <c>rk_test_...</c>) key is.
    /// </summary>
    public ICollection<string> AllowedApiKeys { get; } = new List<string>();

    /// <summary>When false the <c>Authorization</c> header is not checked at all.</summary>
    public bool RequireApiKey { get; set; } = true;

    /// <summary>Webhook endpoints registered at start.</summary>
    public ICollection<WebhookEndpoint> WebhookEndpoints { get; } = new List<WebhookEndpoint>();

    /// <summary>Emulator-clock delay between evidence submission and the dispute closing won/lost.</summary>
    public TimeSpan DisputeCloseDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Evidence window of a new dispute (<c>evidence_details.due_by</c>).</summary>
    public TimeSpan DisputeEvidenceWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Dispute fee charged on funds withdrawal, in minor units.</summary>
    public long DisputeFee { get; set; } = 1500;

    /// <summary>First webhook retry delay (real time); doubles per attempt.</summary>
    public TimeSpan WebhookRetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap for the webhook retry delay.</summary>
    public TimeSpan WebhookRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts per delivery before it is dead-lettered.</summary>
    public int WebhookMaxAttempts { get; set; } = 8;

    /// <summary>Per-attempt timeout of webhook HTTP calls.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Clock for the <c>t=</c> of <c>Stripe-Signature</c>. Defaults to the wall clock (not the emulator clock) so that a
    /// receiver using <c>EventUtility.ConstructEvent</c> with its default 300 s tolerance accepts events even when
    /// the emulator runs on a fake clock.
    /// </summary>
    public TimeProvider? SignatureClock { get; set; }

    /// <summary>Period of the background timer that runs due jobs (dispute closes) on the emulator clock.</summary>
    public TimeSpan JobTimerPeriod { get; set; } = TimeSpan.FromMilliseconds(250);
}
