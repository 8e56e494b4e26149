using System.Net;
using System.Text.Json.Nodes;
using Billing.Domain.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// Crash matrix: for renewal (with its off-session collection), invoice collection, refunds, refund credit notes and
/// Stripe webhook processing, the flow is first run clean to count its side-effecting steps (storage writes, Stripe-mutating calls);
/// then, for every step k, a fresh instance of the flow "crashes" right after step k and is redelivered (the queue
/// message again, or the client's retry with the same Idempotency-Key) until it completes. The books must balance
/// every time: one invoice per period, never two successful charges for an invoice, refunds never above the amount
/// and exactly once per request (for a refund credit note: one note and one Stripe refund of its amount), nothing
/// stuck in the schedule but the next renewal.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class CrashMatrixTests(AppFixture fixture, ITestOutputHelper output)
{
    private const int MaxDeliveries = 6;

    public static TheoryData<string> Flows => ["renewal", "collection", "refund", "credit_note_refund", "webhook"];

    [Theory]
    [MemberData(nameof(Flows))]
    public Task Every_crash_point_recovers_to_balanced_books(string flow) => RunMatrixAsync(flow, repetitions: 2);

    [LongChaosFact]
    [Trait("Category", "Long")]
    public async Task Every_crash_point_recovers_to_balanced_books_many_times()
    {
        foreach (var flow in new[] { "renewal", "collection", "refund", "credit_note_refund", "webhook" })
        {
            await RunMatrixAsync(flow, repetitions: 12);
        }
    }

    private async Task RunMatrixAsync(string flow, int repetitions)
    {
        await using var h = await ChaosHarness.StartAsync(fixture, deliverWebhooks: flow != "webhook");
        var tally = new ChaosTally(output, $"crash matrix/{flow}");
        var scenario = new Scenario(h, flow, tally);
        await scenario.InitializeAsync();

        var probe = new CrashPlan(0);
        await scenario.RunAsync(probe, (await scenario.PrepareAsync(1))[0]);
        var steps = probe.Steps;
        Assert.True(steps > 0, $"{flow}: the clean run took no steps: {string.Join(" | ", probe.Trace)}");
        output.WriteLine($"{flow}: {steps} steps: {string.Join(" | ", probe.Trace)}");

        var points = Enumerable.Range(1, steps).SelectMany(k => Enumerable.Repeat(k, repetitions)).ToList();
        var prepared = await scenario.PrepareAsync(points.Count);
        var crashed = 0;
        var parallelism = flow == "webhook" ? 1 : 4;
        await Parallel.ForEachAsync(points.Select((k, i) => (k, i)), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (point, _) =>
        {
            var plan = new CrashPlan(point.k);
            await scenario.RunAsync(plan, prepared[point.i]);
            if (plan.Crashed)
            {
                Interlocked.Increment(ref crashed);
            }
        });

        tally.Report($"{steps} crash points × {repetitions}, {crashed} runs crashed and were redelivered");
    }

    /// <summary>One flow: prepares independent instances (own customer each), runs one under a crash plan, checks its books.</summary>
    private sealed class Scenario(ChaosHarness h, string flow, ChaosTally tally)
    {
        private string price = "";

        public async Task InitializeAsync() => price = await h.DailyPriceAsync();

        public async Task<IReadOnlyList<JsonObject>> PrepareAsync(int count)
        {
            var prepared = new JsonObject[count];
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) => prepared[i] = await PrepareOneAsync());
            if (flow == "renewal")
            {
                var due = prepared.Max(p => (DateTimeOffset)p["anchor"]!);
                var wait = due - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            return prepared;
        }

        private async Task<JsonObject> PrepareOneAsync()
        {
            switch (flow)
            {
                case "renewal":
                    {
                        var (customer, _) = await h.CustomerWithCardAsync();
                        var anchor = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2); // whole seconds: a sub-second first period is not what this is about
                        var sub = await h.SubscribeAnchoredAsync(customer, price, anchor);
                        return new JsonObject { ["customer"] = customer, ["subscription"] = (string)sub["id"]!, ["anchor"] = anchor, ["created"] = sub.DeepClone() };
                    }

                case "collection":
                    {
                        var (customer, _) = await h.CustomerWithCardAsync();
                        var draft = await h.Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items = new[] { new { description = "Consulting", unit_amount = 12_500, quantity = 2 } } });
                        Assert.True(draft.Status == HttpStatusCode.Created, draft.Body.ToJsonString());
                        var finalized = await h.Admin.PostJsonAsync($"/api/invoices/{draft.Id()}/finalize");
                        Assert.Equal(HttpStatusCode.OK, finalized.Status);
                        return new JsonObject { ["customer"] = customer, ["invoice"] = draft.Id() };
                    }

                case "refund":
                    {
                        var (customer, _) = await h.CustomerWithCardAsync();
                        var paid = await h.Admin.PostJsonAsync("/api/payments", new { customer, amount = 5000, currency = "usd", description = "One-off" }, Guid.NewGuid().ToString("N"));
                        Assert.True(paid.Status is HttpStatusCode.Created or HttpStatusCode.OK, paid.Body.ToJsonString());
                        Assert.Equal("succeeded", (string?)paid.Body["status"]);
                        return new JsonObject { ["customer"] = customer, ["payment"] = paid.Id(), ["gateway_payment"] = (string?)paid.Body["stripe_payment_intent_id"] };
                    }

                case "credit_note_refund":
                    {
                        var (customer, _) = await h.CustomerWithCardAsync();
                        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity = 2 } } }, Guid.NewGuid().ToString("N"));
                        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
                        Assert.Equal("succeeded", (string?)created.Body["latest_payment"]!["status"]);
                        return new JsonObject
                        {
                            ["customer"] = customer,
                            ["invoice"] = (string)created.Body["latest_invoice"]!,
                            ["intent"] = (string)created.Body["latest_payment"]!["payment_id"]!,
                        };
                    }

                default:
                    {
                        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");
                        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity = 1 } } });
                        Assert.Equal("requires_action", (string?)created.Body["latest_payment"]!["status"]);
                        return new JsonObject
                        {
                            ["customer"] = customer,
                            ["subscription"] = (string)created.Body["id"]!,
                            ["invoice"] = (string)created.Body["latest_invoice"]!,
                            ["intent"] = (string)created.Body["latest_payment"]!["payment_id"]!,
                        };
                    }
            }
        }

        public async Task RunAsync(CrashPlan plan, JsonObject p)
        {
            tally.Run();
            var where = $"{flow} crash after step {plan.CrashAfter} ({p["customer"]})";
            try
            {
                switch (flow)
                {
                    case "renewal":
                        await RenewAsync(plan, p, where);
                        break;
                    case "collection":
                        await CollectAsync(plan, p, where);
                        break;
                    case "refund":
                        await RefundAsync(plan, p, where);
                        break;
                    case "credit_note_refund":
                        await CreditNoteRefundAsync(plan, p, where);
                        break;
                    default:
                        await WebhookAsync(plan, p, where);
                        break;
                }
            }
            finally
            {
                CrashPlan.Disarm();
            }
        }

        private async Task RenewAsync(CrashPlan plan, JsonObject p, string where)
        {
            var customer = (string)p["customer"]!;
            var subscription = (string)p["subscription"]!;
            var anchor = (DateTimeOffset)p["anchor"]!;
            var work = (await h.ScheduleOfAsync(customer)).Single(w => w.Kind == "renewal");
            var function = h.QueueFunction("WorkItems");
            var delivered = false;
            for (var delivery = 1; delivery <= MaxDeliveries && !delivered; delivery++)
            {
                plan.Arm();
                try
                {
                    await function.HandleAsync(ChaosHarness.MessageFor(work, delivery), CancellationToken.None);
                    delivered = true;
                }
                catch (Exception e) when (e is InjectedCrashException || e.InnerException is InjectedCrashException)
                {
                }
                finally
                {
                    CrashPlan.Disarm();
                }
            }

            tally.Check(delivered, $"{where}: the renewal never completed");
            await h.App.Services.GetRequiredService<IScheduleStore>().CancelAsync(work); // as the sweep does once queued

            var invoices = (await h.Admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=100")).Body["data"]!.AsArray();
            var periods = invoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!).ToList();
            tally.Check(periods.Count == 2 && periods.Distinct().Count() == 2, $"{where}: {periods.Count} invoices for periods {string.Join(", ", periods.Select(t => t.ToString("O")))} (anchor {anchor:O}, delivered {delivered}, created {p["created"]?.ToJsonString()}, work {work}, trace {string.Join(" | ", plan.Trace)})");
            var renewal = invoices.FirstOrDefault(i => (DateTimeOffset)i!["period"]!["start"]! == anchor);
            tally.Check(renewal is not null && (string?)renewal["status"] == "paid" && (long)renewal["amount_paid"]! == (long)renewal["total"]!,
                $"{where}: renewal invoice {renewal?.ToJsonString()}");
            await CheckChargesAsync(where, invoices.Select(i => (string)i!["id"]!), invoices.ToDictionary(i => (string)i!["id"]!, i => (long)i!["amount_paid"]!));
            await CheckScheduleAsync(where, customer, subscription, anchor.AddDays(1));
            var sub = (await h.Admin.GetJsonAsync($"/api/subscriptions/{subscription}")).Body;
            tally.Check((string?)sub["status"] == "active" && (DateTimeOffset)sub["current_period_start"]! == anchor, $"{where}: subscription {sub.ToJsonString()}");
        }

        private async Task CollectAsync(CrashPlan plan, JsonObject p, string where)
        {
            var invoice = (string)p["invoice"]!;
            var key = Guid.NewGuid().ToString("N");
            var final = await ClientRetryAsync(plan, c => c.PostJsonAsync($"/api/invoices/{invoice}/pay", new { }, key));
            var body = (await h.Admin.GetJsonAsync($"/api/invoices/{invoice}")).Body;
            // A retry whose first try paid the invoice before crashing may be told 409 "already paid": the books decide.
            tally.Check(final == HttpStatusCode.OK || (final == HttpStatusCode.Conflict && (string?)body["status"] == "paid"), $"{where}: pay ended with {final}");
            tally.Check((string?)body["status"] == "paid" && (long)body["amount_paid"]! == 25_000, $"{where}: invoice {body.ToJsonString()}");
            await CheckChargesAsync(where, [invoice], new Dictionary<string, long> { [invoice] = (long)body["amount_paid"]! });
        }

        private async Task RefundAsync(CrashPlan plan, JsonObject p, string where)
        {
            var payment = (string)p["payment"]!;
            var key = Guid.NewGuid().ToString("N");
            var final = await ClientRetryAsync(plan, c => c.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 2000 }, key));
            tally.Check(final is HttpStatusCode.Created or HttpStatusCode.OK, $"{where}: refund ended with {final}");

            // An interrupted refund is finished by its reconciliation step (due an hour later): run this customer's due work.
            await RunDueWorkOfAsync((string)p["customer"]!, h.Clock.GetUtcNow().AddHours(2));
            var after = (await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body;
            tally.Check((long)after["amount_refunded"]! == 2000, $"{where}: payment shows {after["amount_refunded"]} refunded");
            var intent = (string?)after["stripe_payment_intent_id"] ?? (string?)p["gateway_payment"];
            var refunds = (await h.StripeListAsync("refunds")).Where(r => (string?)r["payment_intent"] == intent && (string?)r["status"] is "succeeded" or "pending").ToList();
            tally.Check(refunds.Count == 1 && refunds.Sum(r => (long)r["amount"]!) == 2000, $"{where}: Stripe has {refunds.Count} refunds, {refunds.Sum(r => (long)r["amount"]!)} in total");
        }

        private async Task CreditNoteRefundAsync(CrashPlan plan, JsonObject p, string where)
        {
            var invoice = (string)p["invoice"]!;
            var key = Guid.NewGuid().ToString("N");
            var final = await ClientRetryAsync(plan, c => c.PostJsonAsync("/api/credit-notes", new { invoice, amount = 1700, outcome = "refund", reason = "order_change" }, key));
            tally.Check(final == HttpStatusCode.Created, $"{where}: credit note ended with {final} ({LastAnswer(plan)})");

            // A refund the crash left unsent or unrecorded is finished by the note's due work (five minutes later).
            await RunDueWorkOfAsync((string)p["customer"]!, h.Clock.GetUtcNow().AddHours(2));
            var notes = (await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={invoice}")).Body["data"]!.AsArray();
            tally.Check(notes.Count == 1, $"{where}: {notes.Count} credit notes");
            var note = notes.FirstOrDefault();
            tally.Check(note is not null && (string?)note["status"] == "issued" && (long)note["amount"]! == 1700
                && (string?)note["refund"]?["status"] == "succeeded" && (long?)note["refund"]?["amount"] == 1700, $"{where}: credit note {note?.ToJsonString()}");
            var body = (await h.Admin.GetJsonAsync($"/api/invoices/{invoice}")).Body;
            tally.Check((string?)body["status"] == "paid" && (long)body["amount_refunded"]! == 1700 && (long)body["post_payment_credit_notes_amount"]! == 1700,
                $"{where}: invoice shows {body["amount_refunded"]} refunded, {body["post_payment_credit_notes_amount"]} credited");
            if ((string?)note?["refund"]?["payment"] is { } payment)
            {
                var after = (await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body;
                tally.Check((long)after["amount_refunded"]! == 1700 && (long)after["amount_refundable"]! == (long)after["amount_received"]! - 1700, $"{where}: payment {after.ToJsonString()}");
            }

            var refunds = (await h.StripeListAsync("refunds")).Where(r => (string?)r["payment_intent"] == (string)p["intent"]! && (string?)r["status"] is "succeeded" or "pending").ToList();
            tally.Check(refunds.Count == 1 && refunds.Sum(r => (long)r["amount"]!) == 1700, $"{where}: Stripe has {refunds.Count} refunds, {refunds.Sum(r => (long)r["amount"]!)} in total");
        }

        private async Task WebhookAsync(CrashPlan plan, JsonObject p, string where)
        {
            var intent = (string)p["intent"]!;
            var invoice = (string)p["invoice"]!;
            h.Emulator.CompleteAuthentication(intent);
            var events = h.Emulator.GetEvents().Where(e => e.ToJsonString().Contains(intent, StringComparison.Ordinal)).ToList();
            var harness = new WebhookPoster(h);
            foreach (var e in events)
            {
                var payload = e.ToJsonString();
                var final = await ClientRetryAsync(plan, c => harness.PostAsync(payload, client: c));
                tally.Check(final == HttpStatusCode.OK, $"{where}: webhook {e["type"]} ended with {final}");
            }

            await DrainAsync(plan, "StripeEvents");
            var body = (await h.Admin.GetJsonAsync($"/api/invoices/{invoice}")).Body;
            tally.Check((string?)body["status"] == "paid", $"{where}: invoice {body["status"]}");
            var sub = (await h.Admin.GetJsonAsync($"/api/subscriptions/{p["subscription"]}")).Body;
            tally.Check((string?)sub["status"] == "active", $"{where}: subscription {sub["status"]}");
            await CheckChargesAsync(where, [invoice], new Dictionary<string, long> { [invoice] = (long)body["amount_paid"]! });
            await CheckScheduleAsync(where, (string)p["customer"]!, (string)p["subscription"]!, (DateTimeOffset)sub["current_period_end"]!);
        }

        /// <summary>Delivers this customer's scheduled work due by <paramref name="by"/> (as the sweep + queue would).</summary>
        private async Task RunDueWorkOfAsync(string customer, DateTimeOffset by)
        {
            var function = h.QueueFunction("WorkItems");
            using (h.Clock.ShiftFlow(by - h.Clock.GetUtcNow())) // this run only: the other runs in parallel keep their time
            {
                foreach (var work in (await h.ScheduleOfAsync(customer)).Where(w => w.DueAt <= by && w.Kind != "renewal"))
                {
                    await function.HandleAsync(ChaosHarness.MessageFor(work, 1), CancellationToken.None);
                    await h.App.Services.GetRequiredService<IScheduleStore>().CancelAsync(work);
                }
            }
        }

        /// <summary>Receives and handles the queue until empty; a crashed handling is redelivered (as after the visibility timeout).</summary>
        private async Task DrainAsync(CrashPlan plan, string functionName)
        {
            var function = h.QueueFunction(functionName);
            var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(function.QueueName);
            while ((await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value is { Length: > 0 } messages)
            {
                foreach (var message in messages)
                {
                    for (var delivery = 1; delivery <= MaxDeliveries; delivery++)
                    {
                        plan.Arm();
                        try
                        {
                            await function.HandleAsync(new Billing.Functions.Triggers.QueueMessage(message.MessageId, message.Body.ToString(), delivery, message.InsertedOn), CancellationToken.None);
                            break;
                        }
                        catch (Exception e) when (e is InjectedCrashException || e.InnerException is InjectedCrashException)
                        {
                        }
                        finally
                        {
                            CrashPlan.Disarm();
                        }
                    }

                    plan.Arm();
                    try
                    {
                        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                    }
                    catch (Exception e) when (e is InjectedCrashException || e is Azure.RequestFailedException { Status: 404 })
                    {
                    }
                    finally
                    {
                        CrashPlan.Disarm();
                    }
                }
            }
        }

        private static string LastAnswer(CrashPlan plan)
        {
            lock (plan.Trace)
            {
                return plan.Trace.LastOrDefault(t => t.StartsWith("answer ", StringComparison.Ordinal)) ?? "no answer recorded";
            }
        }

        /// <summary>Sends under the plan and retries like a client would after a 5xx (same request, same key).</summary>
        private async Task<HttpStatusCode> ClientRetryAsync(CrashPlan plan, Func<HttpClient, Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)>> send)
        {
            using var client = plan.Client(h.App);
            var status = HttpStatusCode.InternalServerError;
            for (var attempt = 1; attempt <= 2 * MaxDeliveries; attempt++)
            {
                if (attempt == MaxDeliveries + 1)
                {
                    // Still 409 / 5xx: e.g. a crash right after the Idempotency-Key was claimed, which answers 409 for
                    // its in-flight lease (2 minutes). The client retries once that has passed.
                    h.Clock.Advance(TimeSpan.FromMinutes(3));
                }

                plan.Arm();
                try
                {
                    var result = await send(client);
                    status = result.Status;
                    result.Response.Dispose();
                    if ((int)status >= 300 || plan.Steps == 0)
                    {
                        lock (plan.Trace)
                        {
                            plan.Trace.Add($"answer {(int)status}: {result.Body.ToJsonString()}");
                        }
                    }
                }
                catch (Exception e) when (e is InjectedCrashException or HttpRequestException || e.InnerException is InjectedCrashException)
                {
                    status = HttpStatusCode.InternalServerError; // the connection dropped mid-answer: the client retries
                }
                finally
                {
                    CrashPlan.Disarm();
                }

                if ((int)status < 500 && status != HttpStatusCode.Conflict)
                {
                    return status;
                }

                await Task.Delay(20 * attempt);
            }

            return status;
        }

        private async Task CheckChargesAsync(string where, IEnumerable<string> invoices, IReadOnlyDictionary<string, long> amountPaid)
        {
            var byInvoice = await h.SucceededIntentsByAsync("billing_invoice_id");
            foreach (var invoice in invoices)
            {
                var intents = byInvoice[invoice].ToList();
                var paid = amountPaid.GetValueOrDefault(invoice);
                tally.Check(intents.Count <= 1, $"{where}: {intents.Count} successful charges for invoice {invoice}");
                tally.Check(intents.Sum(i => (long)i["amount_received"]!) == paid, $"{where}: Stripe received {intents.Sum(i => (long)i["amount_received"]!)} for invoice {invoice}, the invoice shows {paid} paid");
            }
        }

        private async Task CheckScheduleAsync(string where, string customer, string subscription, DateTimeOffset nextRenewal)
        {
            // Rows naming an older version are harmless by design (the handler sees the version moved on and does nothing).
            var version = (await h.App.Services.GetRequiredService<TableInvoicingStore>().GetSubscriptionAsync(customer, subscription))!.Value.Version;
            var left = (await h.ScheduleOfAsync(customer)).Where(w => w.TargetId == subscription && w.ExpectedVersion == version).ToList();
            tally.Check(
                left.Count == 1 && left[0] is { Kind: "renewal" } w && w.TargetId == subscription && w.DueAt == nextRenewal,
                $"{where}: schedule holds {string.Join(", ", left.Select(w => $"{w.Kind}@{w.DueAt:O}"))}, expected only the renewal at {nextRenewal:O}");
        }
    }
}

/// <summary>Posts signed Stripe events to the app as Stripe would.</summary>
public sealed class WebhookPoster(ChaosHarness h)
{
    public async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> PostAsync(string payload, string? signature = null, HttpClient? client = null)
    {
        using var own = client is null ? h.App.Anonymous() : null;
        client ??= own!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stripe") { Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature ?? PaymentsHarness.Sign(payload, PaymentsHarness.WebhookSecret, DateTimeOffset.UtcNow));
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode body;
        try
        {
            body = JsonNode.Parse(text.Length == 0 ? "{}" : text) ?? new JsonObject();
        }
        catch (System.Text.Json.JsonException)
        {
            body = new JsonObject { ["raw"] = text };
        }

        return (response.StatusCode, body, response);
    }
}
