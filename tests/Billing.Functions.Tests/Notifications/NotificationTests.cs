using System.Collections.Concurrent;
using System.Net;
using Billing.Functions.Notifications;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Notifications;

[Collection(AppCollection.Name)]
public sealed class NotificationTests(AppFixture fixture)
{
    private sealed class Receiver : HttpMessageHandler
    {
        public ConcurrentQueue<(string Url, string Body, string Signature)> Received { get; } = new();

        public Queue<HttpStatusCode> Answers { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Received.Enqueue((request.RequestUri!.ToString(), await request.Content!.ReadAsStringAsync(cancellationToken), request.Headers.GetValues(WebhookDeliveryHandler.SignatureHeader).Single()));
            return new HttpResponseMessage(Answers.TryDequeue(out var status) ? status : HttpStatusCode.OK);
        }
    }

    private (BillingApp App, Receiver Receiver) Start(bool allowHttp = true)
    {
        var receiver = new Receiver();
        var app = new BillingApp(
            fixture.Azurite.ConnectionString,
            new Dictionary<string, string?> { ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("nt"), ["Notifications:AllowHttp"] = allowHttp ? "true" : "false" },
            services => services.AddHttpClient(nameof(WebhookDeliveryHandler)).ConfigurePrimaryHttpMessageHandler(() => receiver));
        return (app, receiver);
    }

    [Fact]
    public async Task An_event_is_delivered_signed_retried_after_a_failure_and_logged_per_endpoint()
    {
        var (app, receiver) = Start();
        await using var _ = app;
        var admin = app.Admin();
        var created = await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "http://merchant.test/hooks", enabled_events = new[] { "invoice.*" } });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var secret = (string)created.Body["secret"]!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Null((string?)(await admin.GetJsonAsync($"/api/webhook-endpoints/{created.Id()}")).Body["secret"]);
        receiver.Answers.Enqueue(HttpStatusCode.InternalServerError);

        await app.Services.GetRequiredService<INotifier>().PublishAsync("invoice.paid", "cus_x", new { id = "in_1", amount_paid = 1999 });
        await app.Services.GetRequiredService<INotifier>().PublishAsync("customer.subscription.updated", "cus_x", new { id = "sub_1" });
        await app.RunDueWorkAsync(DateTimeOffset.UtcNow);
        await app.RunDueWorkAsync(DateTimeOffset.UtcNow);

        var first = Assert.Single(receiver.Received);
        Assert.Contains("\"type\":\"invoice.paid\"", first.Body, StringComparison.Ordinal);
        Assert.Contains("\"amount_paid\":1999", first.Body, StringComparison.Ordinal);
        var t = long.Parse(first.Signature.Split(',')[0][2..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(WebhookDeliveryHandler.Sign(secret, t, first.Body), first.Signature);

        await app.RunDueWorkAsync(DateTimeOffset.UtcNow.AddMinutes(2));

        Assert.Equal(2, receiver.Received.Count);
        Assert.Equal(first.Body, receiver.Received.Last().Body);
        var log = await admin.GetJsonAsync($"/api/webhook-endpoints/{created.Id()}/deliveries");
        var delivery = Assert.Single(log.Body["data"]!.AsArray())!;
        Assert.Equal("succeeded", (string?)delivery["status"]);
        Assert.Equal([500, 200], delivery["attempts"]!.AsArray().Select(a => (int)a!["status_code"]!));
        Assert.Equal(0, await app.RunDueWorkAsync(DateTimeOffset.UtcNow.AddDays(1)));
    }

    [Fact]
    public async Task Disabled_and_unsubscribed_endpoints_get_nothing_and_a_dedupe_key_publishes_once()
    {
        var (app, receiver) = Start();
        await using var _ = app;
        var admin = app.Admin();
        var disabled = await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "http://merchant.test/disabled", enabled_events = new[] { "*" } });
        await admin.PatchJsonAsync($"/api/webhook-endpoints/{disabled.Id()}", new { disabled = true });
        await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "http://merchant.test/payments", enabled_events = new[] { "payment.succeeded" } });
        await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "http://merchant.test/all", enabled_events = new[] { "*" } });
        var notifier = app.Services.GetRequiredService<INotifier>();

        await notifier.PublishAsync("invoice.finalized", "cus_y", new { id = "in_2" }, dedupeKey: "invoice.finalized:in_2");
        await notifier.PublishAsync("invoice.finalized", "cus_y", new { id = "in_2" }, dedupeKey: "invoice.finalized:in_2");
        await app.RunDueWorkAsync(DateTimeOffset.UtcNow);

        var only = Assert.Single(receiver.Received);
        Assert.Equal("http://merchant.test/all", only.Url);
        var events = await admin.GetJsonAsync("/api/events?type=invoice.finalized");
        Assert.Single(events.Body["data"]!.AsArray());
    }

    [Fact]
    public async Task Endpoint_input_is_validated()
    {
        var (app, _) = Start(allowHttp: false);
        await using var _app = app;
        var admin = app.Admin();
        var errors = (await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "http://merchant.test/hooks", enabled_events = new[] { "invoice.paid", "nonsense.event" } }))
            .AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(["enabled_events[1]", "url"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        (await admin.PostJsonAsync("/api/webhook-endpoints", new { url = "https://merchant.test/hooks" })).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.GetJsonAsync("/api/events?type=nope")).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.GetJsonAsync("/api/webhook-endpoints/we_01AAAAAAAAAAAAAAAAAAAAAAAA")).AssertProblem(HttpStatusCode.NotFound);
    }
}
