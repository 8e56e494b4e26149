using System.Net;
using System.Security.Cryptography;
using System.Text;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Triggers;
using Billing.StripeEmulator;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Payments;

/// <summary>
/// The real app on its own table/queue prefix, wired (through DI) to a fresh in-process Stripe emulator whose signed
/// webhooks are delivered into the app's test server. Since the queue poller lives elsewhere, <see cref="DrainEventsAsync"/>
/// plays it: receive from <c>stripe-events</c>, call the registered <see cref="IQueueFunction"/>, delete.
/// </summary>
public sealed class PaymentsHarness : IAsyncDisposable
{
    public const string WebhookSecret = "whsec_test_payments_primary";
    public const string RotatedSecret = "whsec_test_payments_rotated";

    private PaymentsHarness(StripeEmulator.StripeEmulator emulator, BillingApp app)
    {
        Emulator = emulator;
        App = app;
        Admin = app.Admin();
    }

    public StripeEmulator.StripeEmulator Emulator { get; }

    public BillingApp App { get; }

    public HttpClient Admin { get; }

    public static async Task<PaymentsHarness> StartAsync(AppFixture fixture, IReadOnlyDictionary<string, string?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var emulator = new StripeEmulator.StripeEmulator(new StripeEmulatorOptions
        {
            WebhookRetryInitialDelay = TimeSpan.FromMilliseconds(20),
            WebhookRetryMaxDelay = TimeSpan.FromMilliseconds(200),
        });
        var settings = new Dictionary<string, string?>
        {
            ["Storage:NamePrefix"] = "p" + new string([.. RandomNumberGenerator.GetBytes(10).Select(b => (char)('a' + (b % 26)))]),
            ["Stripe:WebhookSecrets:0"] = WebhookSecret,
            ["Stripe:WebhookSecrets:1"] = RotatedSecret,
            ["Stripe:RetryBaseDelay"] = "00:00:00.010",
            ["Stripe:RetryMaxDelay"] = "00:00:00.050",
            ["Stripe:RequestTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var app = new BillingApp(fixture.Azurite.ConnectionString, settings, services => services.AddSingleton(emulator));
        var harness = new PaymentsHarness(emulator, app);
        Assert.Equal(HttpStatusCode.OK, (await harness.Admin.GetJsonAsync("/api/health")).Status);
        emulator.Webhooks.AddEndpoint(new WebhookEndpoint(new Uri("http://localhost/api/webhooks/stripe"), WebhookSecret) { Handler = app.Server.CreateHandler() });
        return harness;
    }

    /// <summary>Waits for every webhook to be delivered (unless delivery is paused), then processes the <c>stripe-events</c> queue until it is empty.</summary>
    public async Task DrainEventsAsync()
    {
        var function = App.Services.GetServices<IQueueFunction>().Single(f => f.FunctionName == "StripeEvents");
        var queue = App.Services.GetRequiredService<StorageClients>().Queue(function.QueueName);
        for (var round = 0; round < 50; round++)
        {
            var paused = Emulator.Webhooks.IsPaused;
            if (!paused)
            {
                await Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromSeconds(30));
            }

            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value;
            if (messages.Length == 0 && (paused || Emulator.Webhooks.PendingCount == 0))
            {
                return;
            }

            foreach (var message in messages)
            {
                await function.HandleAsync(new QueueMessage(message.MessageId, message.Body.ToString(), message.DequeueCount, message.InsertedOn), CancellationToken.None);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        throw new TimeoutException("The stripe-events queue did not drain.");
    }

    /// <summary>A customer with a saved card (the default), returned as (customer id, payment method id).</summary>
    public async Task<(string Customer, string PaymentMethod)> CustomerWithCardAsync(string token = "pm_card_visa")
    {
        var customer = await Admin.CreateCustomerAsync();
        var attached = await Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = token });
        Assert.Equal(HttpStatusCode.Created, attached.Status);
        return (customer, attached.Id());
    }

    public Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode Body, HttpResponseMessage Response)> PayAsync(
        string customer, long amount = 2000, string currency = "usd", string? paymentMethod = null, string? key = null, HttpClient? client = null, bool? offSession = null) =>
        (client ?? Admin).PostJsonAsync("/api/payments", new { customer, amount, currency, payment_method = paymentMethod, off_session = offSession, description = "One-off" },
            key ?? Guid.NewGuid().ToString("N"));

    /// <summary>A <c>Stripe-Signature</c> header for <paramref name="payload"/> signed at <paramref name="at"/>.</summary>
    public static string Sign(string payload, string secret, DateTimeOffset at)
    {
        var t = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var v1 = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + payload)));
        return $"t={t},v1={v1}";
    }

    /// <summary>Posts a raw webhook to the app as Stripe would.</summary>
    public async Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode Body, HttpResponseMessage Response)> PostWebhookAsync(string payload, string? signature)
    {
        using var client = App.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stripe") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(text.Length == 0 ? "{}" : text)!, response);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Emulator.DisposeAsync();
        await App.DisposeAsync();
    }
}
