using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Stripe;
using Emulator = Billing.StripeEmulator.StripeEmulator;

namespace Billing.Functions.StripeGateway;

/// <summary>
/// The Stripe client the gateway uses and the webhook secrets the webhook accepts. With no secret key configured it
/// is wired to the Stripe emulator: the in-process one (its webhooks signed with the first configured secret, or a
/// per-process one) or, when <c>Stripe:ApiBase</c> is set, an emulator listening on that URL.
/// </summary>
public sealed partial class StripeRuntime : IDisposable
{
    /// <summary>API key used with the emulator (it accepts any <c>sk_test_…</c>).</summary>
    public const string EmulatorApiKey = "sk_test_billing_emulator";

    private readonly HttpClient http;

    public StripeRuntime(IOptions<StripeOptions> options, IServiceProvider services, ILogger<StripeRuntime> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        var o = options.Value;
        if (!o.UsesEmulator())
        {
            http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            Client = new StripeClient(o.SecretKey, httpClient: new SystemNetHttpClient(http, maxNetworkRetries: 0), apiBase: o.ApiBase?.ToString().TrimEnd('/'));
            WebhookSecrets = o.WebhookSecrets;
            LogRealStripe(logger, o.SecretKey!.StartsWith("sk_live_", StringComparison.Ordinal) || o.SecretKey.StartsWith("rk_live_", StringComparison.Ordinal) ? "live" : "test");
            return;
        }

        WebhookSecrets = o.WebhookSecrets.Length > 0 ? o.WebhookSecrets : ["whsec_emulator_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))];
        if (o.ApiBase is not null)
        {
            http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            Client = new StripeClient(EmulatorApiKey, httpClient: new SystemNetHttpClient(http, maxNetworkRetries: 0), apiBase: o.ApiBase.ToString().TrimEnd('/'), filesBase: o.ApiBase.ToString().TrimEnd('/'));
            LogPortEmulator(logger, o.ApiBase);
            return;
        }

        Emulator = services.GetRequiredService<Emulator>();
        http = new HttpClient(Emulator.CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan };
        Client = new StripeClient(EmulatorApiKey, httpClient: new SystemNetHttpClient(http, maxNetworkRetries: 0), apiBase: Emulator.InProcessBaseUrl, filesBase: Emulator.InProcessBaseUrl);
        LogInProcessEmulator(logger);
    }

    public IStripeClient Client { get; }

    /// <summary>The in-process emulator, when the app runs on it.</summary>
    public Emulator? Emulator { get; }

    /// <summary>Secrets a webhook signature may verify with (several during a rotation).</summary>
    public IReadOnlyList<string> WebhookSecrets { get; }

    public void Dispose() => http.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Payments: real Stripe ({Mode} mode)")]
    private static partial void LogRealStripe(ILogger logger, string mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payments: no Stripe:SecretKey set; using the Stripe emulator at {ApiBase} (no real money moves)")]
    private static partial void LogPortEmulator(ILogger logger, Uri apiBase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payments: no Stripe:SecretKey set; using the in-process Stripe emulator (no real money moves; its webhooks are delivered back into this app)")]
    private static partial void LogInProcessEmulator(ILogger logger);
}

/// <summary>
/// With the in-process emulator and a real listening address (<c>dotnet run</c>, the Functions host), registers this
/// app's own <c>/api/webhooks/stripe</c> as the emulator's webhook endpoint once the server has started. Under a test
/// server nothing is registered: tests register the test server's handler themselves.
/// </summary>
public sealed partial class EmulatorWebhookRegistration(
    IServiceProvider services,
    IOptions<StripeOptions> options,
    Microsoft.AspNetCore.Hosting.Server.IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<EmulatorWebhookRegistration> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // With a real Stripe key the runtime (and Stripe.net's client) is built on first use, not during start-up.
        if (!options.Value.UsesEmulator() || services.GetRequiredService<StripeRuntime>().Emulator is not { } emulator)
        {
            return Task.CompletedTask;
        }

        lifetime.ApplicationStarted.Register(() =>
        {
            var url = options.Value.EmulatorWebhookUrl ?? OwnUrl();
            if (url is null)
            {
                return;
            }

            emulator.Webhooks.AddEndpoint(new Billing.StripeEmulator.WebhookEndpoint(url, services.GetRequiredService<StripeRuntime>().WebhookSecrets[0]));
            LogRegistered(logger, url);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Uri? OwnUrl()
    {
        var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
        var address = addresses?.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses?.FirstOrDefault();
        if (address is null)
        {
            return null;
        }

        var builder = new UriBuilder(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://[::]", "://localhost", StringComparison.Ordinal))
        {
            Path = "/api/webhooks/stripe",
        };
        if (builder.Host is "0.0.0.0")
        {
            builder.Host = "localhost";
        }

        return builder.Uri;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe emulator webhooks are delivered to {Url}")]
    private static partial void LogRegistered(ILogger logger, Uri url);
}
