using System.Net;
using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class WebhookTests
{
    [Fact]
    public async Task Deliveries_verify_with_EventUtility_ConstructEvent()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks();
        var customer = await h.CustomerWithCardAsync();
        var pi = await h.ChargeAsync(customer.Id, customer.InvoiceSettings.DefaultPaymentMethodId);
        await h.Emulator.Webhooks.WaitForDrainAsync();

        var events = captured.Verified();
        Assert.Equal(h.Emulator.Count("event"), events.Count);
        var succeeded = Assert.Single(events, e => e.Type == "payment_intent.succeeded");
        Assert.Equal(pi.Id, ((PaymentIntent)succeeded.Data.Object).Id);
        Assert.Equal(StripeEmulator.PinnedApiVersion, succeeded.ApiVersion);
        Assert.Contains(events, e => e.Type == "customer.created");
        Assert.Contains(events, e => e.Type == "charge.succeeded" && ((Charge)e.Data.Object).Amount == 2000);

        var (payload, header) = captured.Items.First();
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(payload, header, "whsec_wrong"));
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(payload + " ", header, Harness.WebhookSecret));
        Assert.Equal(h.Emulator.Count("event"), h.Emulator.Webhooks.DeliveredCount);
    }

    [Fact]
    public void Signature_helper_matches_Stripe_net()
    {
        const string payload = "{\"id\":\"evt_1\"}";
        var t = DateTimeOffset.UtcNow;
        var header = StripeSignature.ComputeHeader("whsec_abc", payload, t);
        Assert.Equal($"t={t.ToUnixTimeSeconds()},v1={EventUtility.ComputeSignature("whsec_abc", t.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), payload)}", header);
        EventUtility.ValidateSignature(payload, header, "whsec_abc");
    }

    [Fact]
    public async Task Failed_deliveries_are_retried_with_backoff()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks(n => n <= 2 ? HttpStatusCode.InternalServerError : HttpStatusCode.OK);
        await h.Customers.CreateAsync(new CustomerCreateOptions());
        await h.Emulator.Webhooks.WaitForDrainAsync();
        Assert.Equal(2, h.Emulator.Webhooks.FailedAttemptCount);
        Assert.Equal(1, h.Emulator.Webhooks.DeliveredCount);
        Assert.Single(captured.Verified());
        Assert.Equal([1, 2, 3], h.Emulator.Webhooks.Attempts.Select(a => a.Attempt));
    }

    [Fact]
    public async Task Duplicates_on_request_and_by_probability()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks();
        h.Emulator.Webhooks.DuplicateNext();
        await h.Customers.CreateAsync(new CustomerCreateOptions());
        await h.Emulator.Webhooks.WaitForDrainAsync();
        var first = captured.Verified();
        Assert.Equal(2, first.Count);
        Assert.Equal(first[0].Id, first[1].Id);

        h.Emulator.Webhooks.DuplicateProbability = 1.0;
        await h.Customers.CreateAsync(new CustomerCreateOptions());
        await h.Emulator.Webhooks.WaitForDrainAsync();
        Assert.Equal(4, captured.Items.Count);
        Assert.Equal(2, h.Emulator.Webhooks.DuplicateCount);
    }

    [Fact]
    public async Task Pause_then_flush_with_shuffle_reorders_the_batch()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks();
        h.Emulator.Webhooks.Pause();
        h.Emulator.Webhooks.ShuffleBatches = true;
        var created = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            created.Add((await h.Customers.CreateAsync(new CustomerCreateOptions())).Id);
        }

        await Task.Delay(150);
        Assert.Empty(captured.Items);
        Assert.Equal(12, h.Emulator.Webhooks.PendingCount);
        await Assert.ThrowsAsync<TimeoutException>(() => h.Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromMilliseconds(50)));

        h.Emulator.Webhooks.Resume();
        await h.Emulator.Webhooks.WaitForDrainAsync();
        var received = captured.Verified().Select(e => ((Customer)e.Data.Object).Id).ToList();
        Assert.Equal(created.Order(), received.Order());
        Assert.NotEqual(created, received);
    }

    [Fact]
    public async Task Delivery_concurrency_sends_several_at_once_and_every_event_still_arrives_once()
    {
        await using var h = new Harness();
        var inFlight = 0;
        var most = 0;
        var received = new System.Collections.Concurrent.ConcurrentBag<string>();
        h.Emulator.Webhooks.AddEndpoint(new WebhookEndpoint(new Uri("http://app.local/webhooks/stripe"), Harness.WebhookSecret)
        {
            Sender = async (request, ct) =>
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref most, now);
                received.Add(await request.Content!.ReadAsStringAsync(ct));
                await Task.Delay(200, ct); // long enough that the batch's deliveries overlap when they may
                Interlocked.Decrement(ref inFlight);
                return new HttpResponseMessage(System.Net.HttpStatusCode.OK);
            },
        });
        h.Emulator.Webhooks.Pause();
        h.Emulator.Webhooks.DeliveryConcurrency = 4;
        for (var i = 0; i < 8; i++)
        {
            await h.Customers.CreateAsync(new CustomerCreateOptions());
        }

        h.Emulator.Webhooks.Resume();
        await h.Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromSeconds(30));

        Assert.InRange(most, 2, 4);
        Assert.Equal(8, received.Count);
        Assert.Equal(8, received.Distinct().Count());
        Assert.Equal(8, h.Emulator.Webhooks.DeliveredCount);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task Delivery_delay_holds_events()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks();
        // A delay far longer than the call itself, so a loaded machine cannot make the first check race the delivery.
        h.Emulator.Webhooks.DeliveryDelay = TimeSpan.FromSeconds(3);
        await h.Customers.CreateAsync(new CustomerCreateOptions());
        Assert.Empty(captured.Items);
        await h.Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromSeconds(30));
        Assert.Single(captured.Items);
    }

    [Fact]
    public async Task Delivers_through_an_HttpMessageHandler_and_over_the_network()
    {
        await using var receiver = await StripeEmulatorServer.StartAsync();
        using var handler = new RecordingHandler();
        var options = new StripeEmulatorOptions();
        options.WebhookEndpoints.Add(new WebhookEndpoint(new Uri("http://app.local/api/stripe/webhook"), "whsec_handler") { Handler = handler });
        await using var h = new Harness(options);
        await h.Customers.CreateAsync(new CustomerCreateOptions());
        await h.Emulator.Webhooks.WaitForDrainAsync();
        var (path, payload, header) = Assert.Single(handler.Received);
        Assert.Equal("/api/stripe/webhook", path);
        Assert.Equal("customer.created", EventUtility.ConstructEvent(payload, header, "whsec_handler").Type);

        // Network delivery: the receiver is another emulator, which rejects the unauthenticated POST with 401, so it is retried then dead-lettered.
        var options2 = new StripeEmulatorOptions { WebhookMaxAttempts = 2, WebhookRetryInitialDelay = TimeSpan.FromMilliseconds(10) };
        options2.WebhookEndpoints.Add(new WebhookEndpoint(new Uri(receiver.BaseUrl, "/nowhere"), "whsec_net"));
        await using var h2 = new Harness(options2);
        await h2.Customers.CreateAsync(new CustomerCreateOptions());
        await h2.Emulator.Webhooks.WaitForDrainAsync();
        Assert.Equal(2, h2.Emulator.Webhooks.FailedAttemptCount);
        Assert.Equal(1, h2.Emulator.Webhooks.DeadLetterCount);
        Assert.All(h2.Emulator.Webhooks.Attempts, a => Assert.Equal(401, a.StatusCode));
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Path, string Payload, string Header)> Received { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var payload = await request.Content!.ReadAsStringAsync(cancellationToken);
            Received.Enqueue((request.RequestUri!.AbsolutePath, payload, request.Headers.GetValues("Stripe-Signature").Single()));
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
