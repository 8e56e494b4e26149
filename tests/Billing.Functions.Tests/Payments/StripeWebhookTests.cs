using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Payments;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Stripe;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class StripeWebhookTests(AppFixture fixture)
{
    private const string Payload = """{"id":"evt_test_forged","object":"event","api_version":"2026-10-28.endive","created":1700000000,"data":{"object":{"id":"pi_forged","object":"payment_intent"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"payment_intent.succeeded"}""";

    [Fact]
    public async Task Unsigned_badly_signed_and_stale_webhooks_are_400_and_nothing_is_stored()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);

        (await h.PostWebhookAsync(Payload, null)).AssertProblem(HttpStatusCode.BadRequest);
        var forged = await h.PostWebhookAsync(Payload, PaymentsHarness.Sign(Payload, "whsec_attacker", DateTimeOffset.UtcNow));
        forged.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_signature", (string?)forged.Body["code"]);
        (await h.PostWebhookAsync(Payload + " ", PaymentsHarness.Sign(Payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).AssertProblem(HttpStatusCode.BadRequest);
        (await h.PostWebhookAsync(Payload, PaymentsHarness.Sign(Payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow.AddSeconds(-301)))).AssertProblem(HttpStatusCode.BadRequest);
        (await h.PostWebhookAsync(Payload, "t=abc,v1=00")).AssertProblem(HttpStatusCode.BadRequest);

        var stored = await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded");
        Assert.Empty(stored.Body["data"]!.AsArray());
        await h.DrainEventsAsync();
    }

    [Theory]
    [InlineData("""{"object":"event","type":"payment_intent.succeeded","created":1700000000}""")]
    [InlineData("""{"id":"evt_no_type","object":"event","created":1700000000}""")]
    [InlineData("""{"id":"evt_bad_created","object":"event","type":"payment_intent.succeeded","created":"yesterday"}""")]
    [InlineData("""["evt_array"]""")]
    [InlineData("""{"id":"evt_cut","type":""")]
    public async Task A_correctly_signed_payload_that_is_not_an_event_is_400_and_nothing_is_stored(string payload)
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);

        (await h.PostWebhookAsync(payload, PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).AssertProblem(HttpStatusCode.BadRequest);

        Assert.Empty((await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded")).Body["data"]!.AsArray());
    }

    [Fact]
    public async Task Webhooks_are_not_held_to_the_per_caller_rate_limit()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Auth:RateLimitPerSecond"] = "2" });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            var payload = Payload.Replace("evt_test_forged", $"evt_test_burst{i}", StringComparison.Ordinal);
            statuses.Add((await h.PostWebhookAsync(payload, PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).Status);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(12, (await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded&limit=100")).Body["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task Either_secret_verifies_during_a_rotation_and_a_duplicate_is_a_200_no_op()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);

        var first = await h.PostWebhookAsync(Payload, PaymentsHarness.Sign(Payload, PaymentsHarness.RotatedSecret, DateTimeOffset.UtcNow.AddSeconds(-200)));
        var again = await h.PostWebhookAsync(Payload, PaymentsHarness.Sign(Payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.False((bool)first.Body["duplicate"]!);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.True((bool)again.Body["duplicate"]!);
        var stored = (await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded")).Body["data"]!.AsArray();
        Assert.Equal("evt_test_forged", (string?)Assert.Single(stored)!["id"]);
    }

    [Fact]
    public async Task An_event_about_a_payment_made_outside_the_API_is_kept_unmatched_not_dropped()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var stripe = new StripeClient("sk_test_outside", httpClient: new SystemNetHttpClient(new HttpClient(h.Emulator.CreateHandler()), 0), apiBase: StripeEmulator.StripeEmulator.InProcessBaseUrl);
        await new PaymentIntentService(stripe).CreateAsync(new PaymentIntentCreateOptions { Amount = 900, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });

        await h.DrainEventsAsync();

        var unmatched = (await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded&status=unmatched")).Body["data"]!.AsArray();
        var kept = Assert.Single(unmatched)!;
        Assert.Equal(1, (int)kept["attempts"]!);
        Assert.StartsWith("pi_", (string?)kept["object_id"], StringComparison.Ordinal);
        var store = h.App.Services.GetRequiredService<StripeEventStore>();
        Assert.Contains((string)kept["object_id"]!, (await store.GetAsync("payment_intent.succeeded", (string)kept["id"]!))!.Payload, StringComparison.Ordinal); // kept for the next look
    }

    [Fact]
    public async Task Events_delivered_twice_and_shuffled_converge_on_the_same_state_as_in_order_delivery()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        h.Emulator.Webhooks.Pause();
        h.Emulator.MakeNextPaymentsProcessing();
        var processing = await h.PayAsync(customer, 8000);
        Assert.Equal("processing", (string?)processing.Body["status"]);
        h.Emulator.SettleProcessingPayments();
        var paid = (string)processing.Body["stripe_payment_intent_id"]!;
        h.Emulator.MakeNextRefundsPending();
        var refund = await h.Admin.PostJsonAsync($"/api/payments/{processing.Id()}/refunds", new { amount = 3000 }, "r-order");
        h.Emulator.SettleRefund((string)refund.Body["stripe_refund_id"]!);

        // Every event, newest first, each twice: older states arrive after newer ones.
        var events = h.Emulator.GetEvents().Where(e => (string?)e["type"] is { } t && (t.StartsWith("payment_intent.", StringComparison.Ordinal) || t.StartsWith("charge.", StringComparison.Ordinal) || t.StartsWith("refund.", StringComparison.Ordinal))).Reverse().ToList();
        Assert.True(events.Count >= 6);
        foreach (var e in events.Concat(events))
        {
            var json = e.ToJsonString();
            Assert.Equal(HttpStatusCode.OK, (await h.PostWebhookAsync(json, PaymentsHarness.Sign(json, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).Status);
        }

        await h.DrainEventsAsync();
        h.Emulator.Webhooks.DuplicateProbability = 0.5;
        h.Emulator.Webhooks.ShuffleBatches = true;
        h.Emulator.Webhooks.Resume();
        await h.DrainEventsAsync();

        var final = await h.Admin.GetJsonAsync($"/api/payments/{processing.Id()}");
        Assert.Equal("succeeded", (string?)final.Body["status"]);
        Assert.Equal(8000, (long)final.Body["amount_received"]!);
        Assert.Equal(3000, (long)final.Body["amount_refunded"]!);
        Assert.Equal("succeeded", (string?)(await h.Admin.GetJsonAsync($"/api/payments/{processing.Id()}/refunds")).Body["data"]![0]!["status"]);
        Assert.Equal("succeeded", (string?)h.Emulator.GetObject(paid)!["status"]);
        var succeeded = Assert.Single((await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded&status=processed")).Body["data"]!.AsArray())!;
        var store = h.App.Services.GetRequiredService<StripeEventStore>();
        Assert.Equal("", (await store.GetAsync("payment_intent.succeeded", (string)succeeded["id"]!))!.Payload); // processed: nothing reads it again
    }

    [Fact]
    public async Task Dispute_events_are_kept_queryable_by_type()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_createDispute");
        Assert.Equal(HttpStatusCode.Created, (await h.PayAsync(customer, 5000)).Status);

        await h.DrainEventsAsync();

        var disputes = (await h.Admin.GetJsonAsync("/api/stripe-events?type=charge.dispute.created")).Body["data"]!.AsArray();
        var dispute = Assert.Single(disputes)!;
        Assert.Equal("processed", (string?)dispute["status"]);
        Assert.StartsWith("du_", (string?)dispute["object_id"], StringComparison.Ordinal);
        (await h.Admin.GetJsonAsync("/api/stripe-events")).AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Unknown_event_types_are_acknowledged_and_ignored()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var payload = new JsonObject
        {
            ["id"] = "evt_test_unknown",
            ["object"] = "event",
            ["api_version"] = "2026-10-28.endive",
            ["created"] = 1_700_000_000,
            ["data"] = new JsonObject { ["object"] = new JsonObject { ["id"] = "prod_x", ["object"] = "product" } },
            ["livemode"] = false,
            ["type"] = "product.created",
        }.ToJsonString();

        Assert.Equal(HttpStatusCode.OK, (await h.PostWebhookAsync(payload, PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))).Status);
        await h.DrainEventsAsync();

        Assert.Equal("ignored", (string?)(await h.Admin.GetJsonAsync("/api/stripe-events?type=product.created")).Body["data"]![0]!["status"]);
    }

    [Fact]
    public async Task Events_about_an_invoice_payment_already_settled_are_recorded_at_receipt_and_never_queued()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);
        await h.DrainEventsAsync();
        h.Emulator.Webhooks.Pause(); // Stripe's events about the first invoice's payment arrive after the app recorded its outcome
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });
        Assert.Equal("active", (string?)created.Body["status"]);
        var intent = (string)created.Body["latest_payment"]!["payment_id"]!;

        h.Emulator.Webhooks.Resume();
        await h.Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromSeconds(30));

        var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(StripeEventsFunction.Queue);
        var queued = (await queue.PeekMessagesAsync(32)).Value.SelectMany(m => StripeEventMessage.ParseAll(m.Body.ToString())).Select(p => p.Type).ToList();
        Assert.DoesNotContain(queued, t => t.StartsWith("payment_intent.", StringComparison.Ordinal) || t.StartsWith("charge.", StringComparison.Ordinal));
        foreach (var (type, status) in new[] { ("payment_intent.created", "ignored"), ("charge.succeeded", "processed"), ("payment_intent.succeeded", "processed") })
        {
            var stored = Assert.Single((await h.Admin.GetJsonAsync($"/api/stripe-events?type={type}")).Body["data"]!.AsArray())!;
            Assert.Equal(status, (string?)stored["status"]);
            Assert.Equal(1, (int)stored["attempts"]!);
            Assert.NotNull(stored["processed_at"]);
            Assert.Contains((string)created.Body["latest_invoice"]!, (string?)stored["note"], StringComparison.Ordinal);
        }

        Assert.Equal(intent, (string?)Assert.Single((await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded")).Body["data"]!.AsArray())!["object_id"]);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        Assert.Equal("paid", (string?)(await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body["status"]);
    }

    [Fact]
    public async Task An_invoice_payment_still_awaiting_authentication_is_queued_and_settled_by_processing()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });
        await h.DrainEventsAsync();
        h.Emulator.Webhooks.Pause();
        h.Emulator.CompleteAuthentication((string)created.Body["latest_payment"]!["payment_id"]!);

        h.Emulator.Webhooks.Resume();
        await h.Emulator.Webhooks.WaitForDrainAsync(TimeSpan.FromSeconds(30));
        var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(StripeEventsFunction.Queue);
        var queued = (await queue.PeekMessagesAsync(32)).Value.SelectMany(m => StripeEventMessage.ParseAll(m.Body.ToString())).Select(p => p.Type).ToList();

        Assert.Contains("payment_intent.succeeded", queued);
        Assert.Equal("open", (string?)(await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body["status"]);
        await h.DrainEventsAsync();
        Assert.Equal("paid", (string?)(await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body["status"]);
        Assert.Equal("processed", (string?)Assert.Single((await h.Admin.GetJsonAsync("/api/stripe-events?type=payment_intent.succeeded")).Body["data"]!.AsArray())!["status"]);
    }

    [Fact]
    public async Task Events_received_at_once_share_queue_messages_and_each_is_processed_once()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var payloads = Enumerable.Range(0, 60).Select(i => new JsonObject
        {
            ["id"] = $"evt_test_burst{i:D3}",
            ["object"] = "event",
            ["api_version"] = "2026-10-28.endive",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["data"] = new JsonObject { ["object"] = new JsonObject { ["id"] = "prod_burst", ["object"] = "product" } },
            ["livemode"] = false,
            ["type"] = "product.updated",
        }.ToJsonString()).ToList();

        var answers = await Task.WhenAll(payloads.Select(p => h.PostWebhookAsync(p, PaymentsHarness.Sign(p, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(StripeEventsFunction.Queue);
        var messages = (await queue.PeekMessagesAsync(32)).Value;
        var pointers = messages.SelectMany(m => StripeEventMessage.ParseAll(m.Body.ToString())).Select(p => p.Id).ToList();
        Assert.Equal(60, pointers.Distinct(StringComparer.Ordinal).Count()); // every event is in a stored message before its 200
        Assert.True(messages.Length < 60, $"{messages.Length} messages for 60 events received at once");
        await h.DrainEventsAsync();
        var stored = (await h.Admin.GetJsonAsync("/api/stripe-events?type=product.updated&limit=100")).Body["data"]!.AsArray();
        Assert.Equal(60, stored.Count);
        Assert.All(stored, e => Assert.Equal(("ignored", 1), ((string?)e!["status"], (int)e["attempts"]!)));
    }

    [Fact]
    public async Task A_failed_group_send_fails_every_caller_whose_event_it_held()
    {
        var queue = new Azure.Storage.Queues.QueueClient(fixture.Azurite.ConnectionString, "nosuchqueue" + Guid.NewGuid().ToString("N")[..8]);
        var sender = new QueueGroupSender(queue);

        var sends = Enumerable.Range(0, 5).Select(i => sender.SendAsync($"{{\"n\":{i}}}")).ToList();

        foreach (var send in sends)
        {
            Assert.Equal(404, (await Assert.ThrowsAsync<Azure.RequestFailedException>(() => send)).Status);
        }

        Assert.Equal("[{\"n\":1},{\"n\":2}]", QueueGroupSender.Compose(["{\"n\":1}", "{\"n\":2}"]));
    }
}
