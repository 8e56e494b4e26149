using System.Diagnostics;
using System.Net;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// Three app instances on one storage account and one Stripe emulator, each sweeping the due-work index and draining
/// the shared <c>work-items</c> queue at the same time (as three Functions instances would), renew N subscriptions that
/// fall due together; ~10% of the cards decline, and their invoices are then retried from all three instances at
/// once after the customer adds a good card. Zero duplicate invoices or charges, zero missed renewals.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class CompetingInstancesTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task Three_instances_renew_every_subscription_exactly_once() => RunAsync(30);

    [LongChaosFact]
    [Trait("Category", "Long")]
    public Task Three_instances_renew_five_thousand_subscriptions_exactly_once() => RunAsync(5000);

    private async Task RunAsync(int count)
    {
        var prefix = ChaosHarness.RandomPrefix("m");
        await using var first = await ChaosHarness.StartAsync(fixture, prefix: prefix);
        await using var second = await ChaosHarness.StartAsync(fixture, emulator: first.Emulator, prefix: prefix, deliverWebhooks: false);
        await using var third = await ChaosHarness.StartAsync(fixture, emulator: first.Emulator, prefix: prefix, deliverWebhooks: false);
        ChaosHarness[] instances = [first, second, third];
        var tally = new ChaosTally(output, $"competing instances/{count}");
        var price = await first.DailyPriceAsync();

        var subs = new (string Customer, string Subscription, DateTimeOffset Anchor, bool Declines)[count];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var h = instances[i % 3];
            var declines = i % 10 == 3;
            var (customer, _) = await h.CustomerWithCardAsync(declines ? "pm_card_chargeCustomerFail" : "pm_card_visa");
            // Far enough ahead to be in the future when the request is validated, even with thousands being created at once.
            var anchor = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + (count > 100 ? 30 : 2));
            var sub = await h.SubscribeAnchoredAsync(customer, price, anchor);
            subs[i] = (customer, (string)sub["id"]!, anchor, declines);
        });
        output.WriteLine($"created {count} subscriptions in {clock.Elapsed.TotalSeconds:F1} s");
        var due = subs.Max(s => s.Anchor) + TimeSpan.FromMilliseconds(50);
        if (due > DateTimeOffset.UtcNow)
        {
            await Task.Delay(due - DateTimeOffset.UtcNow);
        }

        clock.Restart();
        var handled = new int[3];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(count > 100 ? 1200 : 90));
        await Task.WhenAll(instances.Select((h, n) => Task.Run(() => DriveAsync(h, n, handled, stop.Token))));
        output.WriteLine($"renewed by three instances in {clock.Elapsed.TotalSeconds:F1} s; messages handled per instance: {string.Join(", ", handled)}");

        // Retry the declined renewals once the customer has a good card, from the three instances at the same time.
        var declined = subs.Where(s => s.Declines).ToList();
        await Parallel.ForEachAsync(declined, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (s, _) =>
        {
            var card = await first.Admin.PostJsonAsync($"/api/customers/{s.Customer}/payment-methods", new { payment_method = "pm_card_visa" });
            await first.Admin.PostJsonAsync($"/api/customers/{s.Customer}/payment-methods/{card.Id()}/default");
            var invoice = (string)(await first.Admin.GetJsonAsync($"/api/subscriptions/{s.Subscription}")).Body["latest_invoice"]!;
            var answers = await Task.WhenAll(instances.Select(h => h.Admin.PostJsonAsync($"/api/invoices/{invoice}/pay", new { }, "retry-" + invoice)));
            tally.Check(answers.Any(a => a.Status == HttpStatusCode.OK), $"{s.Subscription}: retry answers {string.Join(", ", answers.Select(a => (int)a.Status))}");
        });

        var byInvoice = await first.SucceededIntentsByAsync("billing_invoice_id");
        await Parallel.ForEachAsync(subs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (s, _) =>
        {
            tally.Run();
            var invoices = (await first.Admin.GetJsonAsync($"/api/invoices?customer={s.Customer}&limit=100")).Body["data"]!.AsArray();
            var periods = invoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!).ToList();
            tally.Check(periods.Count == 2 && periods.Distinct().Count() == 2, $"{s.Subscription}: {periods.Count} invoices for {periods.Distinct().Count()} periods");
            var sub = (await first.Admin.GetJsonAsync($"/api/subscriptions/{s.Subscription}")).Body;
            tally.Check((DateTimeOffset)sub["current_period_start"]! == s.Anchor, $"{s.Subscription}: missed renewal (period starts {sub["current_period_start"]})");
            tally.Check((string?)sub["status"] == "active", $"{s.Subscription}: {sub["status"]} after the renewal{(s.Declines ? " and the retry" : "")}");
            foreach (var invoice in invoices)
            {
                var intents = byInvoice[(string)invoice!["id"]!].ToList();
                tally.Check(intents.Count <= 1, $"{s.Subscription}: {intents.Count} successful charges for invoice {invoice["id"]}");
                tally.Check(intents.Sum(i => (long)i["amount_received"]!) == (long)invoice["amount_paid"]!, $"{s.Subscription}: Stripe and the invoice disagree on {invoice["id"]}");
            }
        });
        tally.Report($"{count} subscriptions, {declined.Count} declined then retried from 3 instances at once");
    }

    /// <summary>One instance's trigger loop: sweep, then receive and handle what it got; stops once every subscription has renewed.</summary>
    private static async Task DriveAsync(ChaosHarness h, int n, int[] handled, CancellationToken cancellationToken)
    {
        var sweeper = h.App.Services.GetRequiredService<DueWorkSweeper>();
        var function = h.QueueFunction("WorkItems");
        var queue = h.App.Services.GetRequiredService<StorageClients>().Queue(WorkItemsFunction.Queue);
        var idle = 0;
        while (!cancellationToken.IsCancellationRequested && idle < 6)
        {
            await sweeper.SweepAsync(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(10), cancellationToken);
            var messages = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(10), cancellationToken)).Value;
            if (messages.Length == 0)
            {
                idle++;
                await Task.Delay(100, cancellationToken);
                continue;
            }

            idle = 0;
            foreach (var message in messages)
            {
                await function.HandleAsync(new Billing.Functions.Triggers.QueueMessage(message.MessageId, message.Body.ToString(), message.DequeueCount, message.InsertedOn), cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                Interlocked.Increment(ref handled[n]);
            }
        }
    }
}
