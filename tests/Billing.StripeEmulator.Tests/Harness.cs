using System.Collections.Concurrent;
using System.Net;
using Stripe;

namespace Billing.StripeEmulator.Tests;

/// <summary>An emulator plus a real Stripe.net client wired to it in-process.</summary>
internal sealed class Harness : IAsyncDisposable
{
    public const string ApiKey = "sk_test_emulator_harness";
    public const string WebhookSecret = "whsec_test_harness_secret";

    public Harness(StripeEmulatorOptions? options = null, TimeProvider? time = null, int maxNetworkRetries = 0, TimeSpan? httpTimeout = null)
    {
        Emulator = new StripeEmulator(options, time);
        Http = new HttpClient(Emulator.CreateHandler()) { Timeout = httpTimeout ?? TimeSpan.FromSeconds(30) };
        Client = new StripeClient(ApiKey, httpClient: new SystemNetHttpClient(Http, maxNetworkRetries), apiBase: StripeEmulator.InProcessBaseUrl);
    }

    public StripeEmulator Emulator { get; }

    public HttpClient Http { get; }

    public StripeClient Client { get; }

    public CustomerService Customers => new(Client);

    public PaymentIntentService PaymentIntents => new(Client);

    public PaymentMethodService PaymentMethods => new(Client);

    public SetupIntentService SetupIntents => new(Client);

    public RefundService Refunds => new(Client);

    public DisputeService Disputes => new(Client);

    public ChargeService Charges => new(Client);

    public EventService Events => new(Client);

    /// <summary>Registers a capturing webhook endpoint and returns the captured deliveries.</summary>
    public Captured CaptureWebhooks(Func<int, HttpStatusCode>? statusForAttempt = null)
    {
        var captured = new Captured();
        var endpoint = new WebhookEndpoint(new Uri("http://app.local/webhooks/stripe"), WebhookSecret)
        {
            Sender = async (request, ct) =>
            {
                var payload = await request.Content!.ReadAsStringAsync(ct);
                var header = request.Headers.GetValues("Stripe-Signature").Single();
                var n = Interlocked.Increment(ref captured.Calls);
                var status = statusForAttempt?.Invoke(n) ?? HttpStatusCode.OK;
                if ((int)status < 300)
                {
                    captured.Items.Enqueue((payload, header));
                }

                return new HttpResponseMessage(status);
            },
        };
        Emulator.Webhooks.AddEndpoint(endpoint);
        return captured;
    }

    public async Task<Customer> CustomerWithCardAsync(string token = "pm_card_visa")
    {
        var customer = await Customers.CreateAsync(new CustomerCreateOptions { Email = "a@example.com", Name = "Ada" });
        var pm = await PaymentMethods.AttachAsync(token, new PaymentMethodAttachOptions { Customer = customer.Id });
        return await Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions
        {
            InvoiceSettings = new CustomerInvoiceSettingsOptions { DefaultPaymentMethod = pm.Id },
        });
    }

    public Task<PaymentIntent> ChargeAsync(string? customerId, string paymentMethod, long amount = 2000, string currency = "usd", RequestOptions? requestOptions = null, string? captureMethod = null) =>
        PaymentIntents.CreateAsync(
            new PaymentIntentCreateOptions
            {
                Amount = amount,
                Currency = currency,
                Customer = customerId,
                PaymentMethod = paymentMethod,
                Confirm = true,
                OffSession = customerId is null ? null : true,
                CaptureMethod = captureMethod,
                Description = "test charge",
                Metadata = new Dictionary<string, string> { ["invoice"] = "inv_1" },
            },
            requestOptions);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }

    internal sealed class Captured
    {
        public int Calls;

        public ConcurrentQueue<(string Payload, string Header)> Items { get; } = new();

        public List<Event> Verified(string secret = WebhookSecret) =>
            [.. Items.Select(i => EventUtility.ConstructEvent(i.Payload, i.Header, secret))];
    }
}
