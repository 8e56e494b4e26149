using System.Net;
using Billing.Domain.Scheduling;
using Billing.Functions.Tests.Infrastructure;
using Billing.StripeEmulator;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// About 20% of all Stripe calls fail — 500, 429 and timeouts, before the operation or after it was done — while
/// one-off payments, refunds and renewals run; clients retry with their Idempotency-Key, renewals are redelivered.
/// Then Stripe recovers (faults cleared), clients retry and the due work runs again: everything completes, and no
/// payment, invoice or refund was ever charged or refunded twice.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class StripeFaultsTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task A_fifth_of_stripe_calls_failing_never_duplicates_money_and_all_work_completes_after_recovery() => RunAsync(20);

    [LongChaosFact]
    [Trait("Category", "Long")]
    public Task The_same_with_many_more_operations() => RunAsync(300);

    private async Task RunAsync(int perKind)
    {
        await using var h = await ChaosHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Stripe:RequestTimeout"] = "00:00:01" });
        var tally = new ChaosTally(output, $"stripe faults/{perKind}");
        var price = await h.DailyPriceAsync();
        var customers = new string[perKind];
        var subs = new (string Customer, string Subscription, DateTimeOffset Anchor)[perKind];
        await Parallel.ForEachAsync(Enumerable.Range(0, perKind), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
        {
            customers[i] = (await h.CustomerWithCardAsync()).Customer;
            var (customer, _) = await h.CustomerWithCardAsync();
            var anchor = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
            subs[i] = (customer, (string)(await h.SubscribeAnchoredAsync(customer, price, anchor))["id"]!, anchor);
        });
        var due = subs.Max(s => s.Anchor) + TimeSpan.FromMilliseconds(50);
        if (due > DateTimeOffset.UtcNow)
        {
            await Task.Delay(due - DateTimeOffset.UtcNow);
        }

        var callsBefore = h.Emulator.Requests.Count;

        // ~20% of calls fail: 500 / 429 / timeout, each before or after Stripe did the work.
        foreach (var phase in new[] { FaultPhase.BeforeOperation, FaultPhase.AfterOperation })
        {
            h.Emulator.Faults.FailRandomly(null, "/v1/", 0.04, FaultKind.ServerError, phase);
            h.Emulator.Faults.FailRandomly(null, "/v1/", 0.04, FaultKind.RateLimit, phase);
            h.Emulator.Faults.FailRandomly(null, "/v1/", 0.02, FaultKind.Timeout, phase);
        }

        var payKeys = customers.Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        var paymentIds = new string?[perKind];
        var refundKeys = customers.Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        var renewals = new DueWork[perKind];
        for (var i = 0; i < perKind; i++)
        {
            renewals[i] = (await h.ScheduleOfAsync(subs[i].Customer)).Single(w => w.Kind == "renewal");
        }

        async Task PassAsync()
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, perKind), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
            {
                for (var attempt = 0; attempt < 3 && paymentIds[i] is null; attempt++)
                {
                    var paid = await h.Admin.PostJsonAsync("/api/payments", new { customer = customers[i], amount = 4000, currency = "usd", description = "Faulty" }, payKeys[i]);
                    if (paid.Status is HttpStatusCode.Created or HttpStatusCode.OK && (string?)paid.Body["status"] == "succeeded")
                    {
                        paymentIds[i] = paid.Id();
                    }
                }

                if (paymentIds[i] is { } payment)
                {
                    for (var attempt = 0; attempt < 3; attempt++)
                    {
                        var refund = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 1000 }, refundKeys[i]);
                        if (refund.Status is HttpStatusCode.Created or HttpStatusCode.OK)
                        {
                            break;
                        }
                    }
                }

                for (var attempt = 1; attempt <= 3; attempt++)
                {
                    try
                    {
                        await h.QueueFunction("WorkItems").HandleAsync(ChaosHarness.MessageFor(renewals[i], attempt), CancellationToken.None);
                        break;
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                    }
                }
            });
        }

        await PassAsync();
        var triggered = h.Emulator.Faults.TriggeredCount;
        var calls = h.Emulator.Requests.Count - callsBefore;
        h.Emulator.Faults.Clear();

        // Stripe has recovered: clients retry, due work (reconciliation an hour on) runs, unpaid renewal invoices are paid.
        h.Clock.Offset = TimeSpan.FromMinutes(3); // past the Idempotency-Key in-flight lease
        await PassAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, perKind), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
        {
            foreach (var customer in new[] { customers[i], subs[i].Customer })
            {
                foreach (var work in (await h.ScheduleOfAsync(customer)).Where(w => w.Kind != "renewal" && w.DueAt <= h.Clock.GetUtcNow().AddHours(2)))
                {
                    await h.QueueFunction("WorkItems").HandleAsync(ChaosHarness.MessageFor(work, 1), CancellationToken.None);
                }
            }

            var sub = (await h.Admin.GetJsonAsync($"/api/subscriptions/{subs[i].Subscription}")).Body;
            var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{sub["latest_invoice"]}")).Body;
            if ((string?)invoice["status"] == "open")
            {
                await h.Admin.PostJsonAsync($"/api/invoices/{invoice["id"]}/pay", new { }, "recover-" + invoice["id"]);
            }
        });
        h.Clock.Offset = TimeSpan.Zero;

        var byPayment = await h.SucceededIntentsByAsync("billing_payment_id");
        var byInvoice = await h.SucceededIntentsByAsync("billing_invoice_id");
        var stripeRefunds = (await h.StripeListAsync("refunds")).Where(r => (string?)r["status"] is "succeeded" or "pending").ToLookup(r => (string)r["payment_intent"]!, StringComparer.Ordinal);
        for (var i = 0; i < perKind; i++)
        {
            tally.Run();
            tally.Check(paymentIds[i] is not null, $"payment {i} never completed");
            if (paymentIds[i] is { } id)
            {
                var payment = (await h.Admin.GetJsonAsync($"/api/payments/{id}")).Body;
                var intents = byPayment[id].ToList();
                tally.Check(intents.Count == 1 && (long)intents[0]["amount_received"]! == 4000, $"{id}: {intents.Count} successful charges at Stripe");
                var refunds = stripeRefunds[(string)payment["stripe_payment_intent_id"]!].ToList();
                tally.Check(refunds.Count == 1 && refunds.Sum(r => (long)r["amount"]!) == 1000, $"{id}: Stripe has {refunds.Count} refunds for {refunds.Sum(r => (long)r["amount"]!)}");
                tally.Check((long)payment["amount_refunded"]! == 1000, $"{id}: the app shows {payment["amount_refunded"]} refunded");
            }

            var invoices = (await h.Admin.GetJsonAsync($"/api/invoices?customer={subs[i].Customer}&limit=100")).Body["data"]!.AsArray();
            tally.Check(invoices.Count == 2, $"{subs[i].Subscription}: {invoices.Count} invoices");
            foreach (var invoice in invoices)
            {
                var charged = byInvoice[(string)invoice!["id"]!].ToList();
                tally.Check(charged.Count <= 1, $"{invoice["id"]}: {charged.Count} successful charges");
                tally.Check((string?)invoice["status"] == "paid" && charged.Sum(c => (long)c["amount_received"]!) == (long)invoice["amount_paid"]!, $"{invoice["id"]}: {invoice["status"]}, paid {invoice["amount_paid"]}, Stripe {charged.Sum(c => (long)c["amount_received"]!)}");
            }

            var sub = (await h.Admin.GetJsonAsync($"/api/subscriptions/{subs[i].Subscription}")).Body;
            tally.Check((string?)sub["status"] == "active" && (DateTimeOffset)sub["current_period_start"]! == subs[i].Anchor, $"{subs[i].Subscription}: {sub["status"]} from {sub["current_period_start"]}");
        }

        tally.Report($"{perKind} payments + refunds + renewals; {triggered} of {calls} Stripe calls faulted while it was down");
    }
}
