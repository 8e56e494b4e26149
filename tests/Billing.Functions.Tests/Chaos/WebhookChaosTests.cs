using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Payments;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// The emulator's real events for payments and refunds that settle asynchronously (processing → succeeded / failed,
/// pending refunds → succeeded / failed), posted to <c>/api/webhooks/stripe</c> concurrently, shuffled, 30% of them
/// twice, plus 5% forgeries (tampered payloads, wrong secrets, stale timestamps). The final state must be the one
/// in-order processing gives, i.e. Stripe's own: every payment's status and amounts and every refund's status as the
/// emulator has them. Every forgery is refused with 400 and stored nowhere; nothing answers 5xx.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class WebhookChaosTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task Shuffled_duplicated_and_forged_webhooks_end_in_stripes_state() => RunAsync(300);

    [LongChaosFact]
    [Trait("Category", "Long")]
    public Task Ten_thousand_shuffled_duplicated_and_forged_webhooks_end_in_stripes_state() => RunAsync(10_000);

    private async Task RunAsync(int events)
    {
        await using var h = await ChaosHarness.StartAsync(fixture, deliverWebhooks: false);
        var tally = new ChaosTally(output, $"webhook chaos/{events}");
        var customers = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            customers.Add((await h.CustomerWithCardAsync()).Customer);
        }

        // Payments that settle asynchronously, and refunds of the earlier ones that settle asynchronously too.
        var payments = new ConcurrentBag<string>();
        var settledOk = new List<string>();
        var round = 0;
        while (h.Emulator.Count("event") < events)
        {
            round++;
            const int batch = 10;
            h.Emulator.MakeNextPaymentsProcessing(batch);
            var created = await Task.WhenAll(Enumerable.Range(0, batch).Select(i =>
                h.Admin.PostJsonAsync("/api/payments", new { customer = customers[i % customers.Count], amount = 1000 + (100 * i), currency = "usd", description = "Async" }, Guid.NewGuid().ToString("N"))));
            foreach (var c in created)
            {
                Assert.True(c.Status is HttpStatusCode.Created or HttpStatusCode.OK, c.Body.ToJsonString());
                payments.Add(c.Id());
            }

            var succeed = round % 4 != 0;
            h.Emulator.SettleProcessingPayments(succeed);
            if (succeed)
            {
                settledOk.AddRange(created.Select(c => c.Id()));
            }

            if (settledOk.Count >= 3 && round % 2 == 0)
            {
                // The app learns these succeeded from events not delivered yet; a reconciliation re-read catches it up so it
                // accepts refunds (whose pending → settled events then join the chaos).
                foreach (var id in settledOk.TakeLast(3))
                {
                    h.Emulator.MakeNextRefundsPending();
                    await h.App.Services.GetRequiredService<Billing.Domain.Payments.PaymentService>().ResumePaymentAsync(id);
                    var refund = await h.Admin.PostJsonAsync($"/api/payments/{id}/refunds", new { amount = 300 }, Guid.NewGuid().ToString("N"));
                    Assert.True(refund.Status is HttpStatusCode.Created or HttpStatusCode.OK, refund.Body.ToJsonString());
                }

                h.Emulator.SettlePendingRefunds(succeed: round % 6 != 0);
            }
        }

        // The deliveries: every event, 30% again, shuffled; plus 5% forgeries.
        var random = new Random(events);
        var genuine = h.Emulator.GetEvents().Select(e => e.ToJsonString()).ToList();
        var deliveries = genuine.Concat(genuine.Where(_ => random.NextDouble() < 0.3)).Select(p => (Payload: p, Forged: false, Signature: (string?)null)).ToList();
        var forgeries = (int)Math.Ceiling(deliveries.Count * 0.05 / 0.95);
        var forgedIds = new List<(string Type, string Id)>();
        for (var i = 0; i < forgeries; i++)
        {
            var e = JsonNode.Parse(genuine[random.Next(genuine.Count)])!.AsObject();
            var id = "evt_forged" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
            e["id"] = id;
            forgedIds.Add(((string)e["type"]!, id));
            var payload = e.ToJsonString();
            var signature = (i % 3) switch
            {
                0 => PaymentsHarness.Sign(payload, "whsec_attacker", DateTimeOffset.UtcNow), // wrong secret
                1 => PaymentsHarness.Sign(payload.Replace("\"livemode\":false", "\"livemode\":false ", StringComparison.Ordinal) + " ", PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow), // signed another body
                _ => PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow.AddHours(-1)), // replayed outside the tolerance
            };
            deliveries.Add((payload, true, signature));
        }

        deliveries = [.. deliveries.OrderBy(_ => random.Next())];
        var poster = new WebhookPoster(h);
        var statuses = new ConcurrentBag<(bool Forged, int Status)>();
        await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (d, _) =>
        {
            var answer = await poster.PostAsync(d.Payload, d.Signature);
            answer.Response.Dispose();
            statuses.Add((d.Forged, (int)answer.Status));
        });
        await DrainAsync(h);

        foreach (var (forged, status) in statuses)
        {
            tally.Run();
            tally.Check(status < 500, $"a delivery answered {status}");
            tally.Check(forged ? status == 400 : status is >= 200 and < 300, $"{(forged ? "forged" : "genuine")} delivery answered {status}");
        }

        var store = h.App.Services.GetRequiredService<StripeEventStore>();
        foreach (var (type, id) in forgedIds)
        {
            tally.Check(await store.GetAsync(type, id) is null, $"forged event {id} was stored");
        }

        // Final state = Stripe's (what in-order processing of the same events gives).
        var intents = (await h.StripeListAsync("payment_intents")).ToDictionary(pi => (string)pi["id"]!, StringComparer.Ordinal);
        var refunds = (await h.StripeListAsync("refunds")).ToLookup(r => (string)r["payment_intent"]!, StringComparer.Ordinal);
        foreach (var id in payments)
        {
            var payment = (await h.Admin.GetJsonAsync($"/api/payments/{id}")).Body;
            var pi = intents[(string)payment["stripe_payment_intent_id"]!];
            tally.Check((string?)payment["status"] == (string?)pi["status"], $"{id}: the app says {payment["status"]}, Stripe {pi["status"]}");
            tally.Check((long)payment["amount_received"]! == (long)pi["amount_received"]!, $"{id}: received {payment["amount_received"]} vs Stripe {pi["amount_received"]}");
            var refunded = refunds[(string)pi["id"]!].Where(r => (string?)r["status"] == "succeeded").Sum(r => (long)r["amount"]!);
            tally.Check((long)payment["amount_refunded"]! == refunded, $"{id}: refunded {payment["amount_refunded"]} vs Stripe {refunded}");
            var ours = (await h.Admin.GetJsonAsync($"/api/payments/{id}/refunds")).Body["data"]!.AsArray();
            foreach (var r in ours)
            {
                var theirs = refunds[(string)pi["id"]!].Single(x => (string?)x["id"] == (string?)r!["stripe_refund_id"]);
                tally.Check((string?)r!["status"] == (string?)theirs["status"], $"{r["id"]}: the app says {r["status"]}, Stripe {theirs["status"]}");
            }
        }

        tally.Report($"{genuine.Count} events, {deliveries.Count} deliveries ({deliveries.Count - genuine.Count - forgeries} duplicates, {forgeries} forgeries), {payments.Count} payments");
    }

    private static async Task DrainAsync(ChaosHarness h)
    {
        var function = h.QueueFunction("StripeEvents");
        var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(function.QueueName);
        while ((await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(60))).Value is { Length: > 0 } messages)
        {
            await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (message, cancellationToken) =>
            {
                await function.HandleAsync(new Billing.Functions.Triggers.QueueMessage(message.MessageId, message.Body.ToString(), message.DequeueCount, message.InsertedOn), cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            });
        }
    }
}
