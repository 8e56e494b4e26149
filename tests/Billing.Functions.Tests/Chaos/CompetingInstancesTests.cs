using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Billing.Benchmarks.Harness;
using Billing.Functions.LocalHost;
using Billing.Functions.Payments;
using Billing.Functions.Scheduling;
using Billing.Functions.Tests.Infrastructure;
using Billing.StripeEmulator;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// Three app processes (<c>dotnet Billing.Functions.dll</c>, as three Functions instances) on one storage account and one
/// Stripe emulator (on its own port; its signed webhooks go to the first process over HTTP), each with its LocalHost
/// triggers on: the BillingClock timer (one instance holds the singleton lock) and the <c>work-items</c> and
/// <c>stripe-events</c> queue pollers of all three. N subscriptions fall due at once on the timer's tick; ~10% of the
/// cards decline, and their invoices are then retried from all three processes at once after the customer adds a good
/// card. Zero duplicate invoices or charges, zero missed renewals.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class CompetingInstancesTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task Three_app_processes_renew_every_subscription_exactly_once() => RunAsync(30);

    [LongChaosFact]
    [Trait("Category", "Long")]
    public Task Three_app_processes_renew_five_thousand_subscriptions_exactly_once() => RunAsync(5000);

    private async Task RunAsync(int count)
    {
        if (count <= 100)
        {
            await RunAsync(count, fixture.Azurite.ConnectionString);
            return;
        }

        // The long variant gets an Azurite of its own that keeps its data in memory: in disk mode Azurite saves its whole
        // table database as one JSON file every 5 seconds, and with 5,000 customers' rows (≈ 300 MB) that stall, not the
        // app, set the pace — creating the subscriptions took 25 minutes and the renewals ran at ≈ 2/s.
        var dataDirectory = Path.Combine(Path.GetTempPath(), "billing-compete-" + Guid.NewGuid().ToString("N"));
        var azurite = await AzuriteProcess.StartAsync(dataDirectory, inMemory: true);
        try
        {
            await RunAsync(count, azurite.ConnectionString);
        }
        finally
        {
            await azurite.DisposeAsync();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private async Task RunAsync(int count, string connection)
    {
        var prefix = ChaosHarness.RandomPrefix("m");
        await using var stripe = await StripeEmulatorServer.StartAsync();
        stripe.Emulator.Webhooks.DeliveryConcurrency = 16;
        var secret = "whsec_compete_" + Guid.NewGuid().ToString("N");
        var settings = new Dictionary<string, string>
        {
            ["LocalHost__Enabled"] = "true",
            ["Storage__NamePrefix"] = prefix,
            ["Storage__CountOperations"] = "true",
            ["Stripe__ApiBase"] = stripe.BaseUrl.ToString(),
            ["Stripe__WebhookSecrets__0"] = secret,
        };
        var processes = Enumerable.Range(0, 3).Select(_ => AppProcess.Start(AppContext.BaseDirectory, connection, settings)).ToArray();
        try
        {
            await Task.WhenAll(processes.Select(p => p.WaitHealthyAsync(TimeSpan.FromSeconds(60))));
            stripe.Emulator.Webhooks.AddEndpoint(new WebhookEndpoint(new Uri(processes[0].BaseAddress, "/api/webhooks/stripe"), secret));
            var clients = processes.Select(p => p.Client(64)).ToArray();
            foreach (var client in clients)
            {
                client.Timeout = TimeSpan.FromMinutes(2); // thousands of rows in: Azurite pauses for seconds while it saves its table database
            }

            using var ledger = ChaosHarness.Ledger(stripe.Emulator);
            try
            {
                await RunAsync(count, clients, stripe.Emulator, ledger, connection, prefix);
            }
            finally
            {
                foreach (var client in clients)
                {
                    client.Dispose();
                }
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    private async Task RunAsync(int count, HttpClient[] clients, StripeEmulator.StripeEmulator emulator, HttpClient ledger, string connection, string prefix)
    {
        var tally = new ChaosTally(output, $"competing processes/{count}");
        // Daily, and dear enough that the prorated first invoice (10 s or more) is above Stripe's minimum charge.
        var product = await AppProcess.PostForIdAsync(clients[0], "/api/products", new { name = "Daily plan" });
        var price = await AppProcess.PostForIdAsync(clients[0], "/api/prices", new { product, currency = "usd", billing_scheme = "per_unit", unit_amount = 500_000, recurring = new { interval = "day" } });

        // Customers and cards first; their pace tells how long the subscriptions (invoice, PDF, charge, Stripe's events)
        // will take, so that every renewal can fall due one second before one minute boundary: the BillingClock timer
        // (every minute at :00) then finds them all due on the same tick.
        var clock = Stopwatch.StartNew();
        var customers = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (i, _) =>
        {
            customers[i] = await AppProcess.PostForIdAsync(clients[i % 3], "/api/customers", new { email = $"compete{i}@example.com", name = $"Compete {i}" });
            await AppProcess.PostForIdAsync(clients[i % 3], $"/api/customers/{customers[i]}/payment-methods", new { payment_method = "pm_card_visa" });
        });
        var boundary = NextMinute(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(15 + (clock.Elapsed.TotalSeconds * (count > 100 ? 8 : 3)))); // subscriptions cost more as the tables grow
        var anchor = boundary.AddSeconds(-1);
        var subs = new (string Customer, string Subscription, bool Declines)[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (i, _) =>
        {
            var client = clients[i % 3];
            var declines = i % 10 == 3;
            var subscription = await AppProcess.PostForIdAsync(client, "/api/subscriptions", new { customer = customers[i], items = new[] { new { price, quantity = 1 } }, billing_cycle_anchor = anchor });
            if (declines)
            {
                // The first invoice is paid; the renewal is charged to a card that declines.
                await SetDefaultCardAsync(client, customers[i], "pm_card_chargeCustomerFail");
            }

            subs[i] = (customers[i], subscription, declines);
        });
        output.WriteLine($"created {count} subscriptions in {clock.Elapsed.TotalSeconds:F1} s; all due at {anchor:HH:mm:ss}");
        Assert.True(DateTimeOffset.UtcNow < anchor, "Creating the subscriptions took longer than planned; they are not all due at once.");
        await Task.Delay(boundary - DateTimeOffset.UtcNow);

        // Done when nothing due by the anchor is left in the index and both queues are empty, three polls in a row.
        clock.Restart();
        var schedule = new TableClient(connection, prefix + TableScheduleStore.TableName);
        var workItems = new QueueClient(connection, prefix + WorkItemsFunction.Queue);
        var stripeEvents = new QueueClient(connection, prefix + StripeEventsFunction.Queue);
        var dueBy = TableScheduleStore.TimeKey(anchor.AddSeconds(1));
        var quiet = 0;
        while (quiet < 3 && clock.Elapsed < TimeSpan.FromSeconds(count > 100 ? 3600 : 120))
        {
            await Task.Delay(TimeSpan.FromSeconds(count > 100 ? 2 : 1));
            var due = await CountDueAsync(schedule, dueBy);
            var queued = (await workItems.GetPropertiesAsync()).Value.ApproximateMessagesCount + (await stripeEvents.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            quiet = clock.Elapsed > TimeSpan.FromSeconds(3) && due == 0 && queued == 0 && emulator.Webhooks.PendingCount == 0 ? quiet + 1 : 0;
        }

        var handled = await Task.WhenAll(clients.Select(async c =>
            (await c.GetFromJsonAsync<Dictionary<string, long>>(new Uri("/api/diagnostics/storage-operations", UriKind.Relative)))!.GetValueOrDefault($"detail/queue.DELETE.{prefix}{WorkItemsFunction.Queue}")));
        output.WriteLine($"renewed by three processes in {clock.Elapsed.TotalSeconds:F1} s; work items handled per process: {string.Join(", ", handled)}");

        // Retry the declined renewals once the customer has a good card, from the three processes at the same time.
        var declined = subs.Where(s => s.Declines).ToList();
        await Parallel.ForEachAsync(declined, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (s, _) =>
        {
            await SetDefaultCardAsync(clients[0], s.Customer, "pm_card_visa");
            var invoice = (string)(await GetAsync(clients[0], $"/api/subscriptions/{s.Subscription}"))["latest_invoice"]!;
            var answers = await Task.WhenAll(clients.Select(async c =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/invoices/{invoice}/pay", UriKind.Relative)) { Content = JsonContent.Create(new { }) };
                request.Headers.Add("Idempotency-Key", "retry-" + invoice);
                using var response = await c.SendAsync(request);
                return response.StatusCode;
            }));
            tally.Check(answers.Any(a => a == HttpStatusCode.OK), $"{s.Subscription}: retry answers {string.Join(", ", answers.Select(a => (int)a))}");
        });

        var byInvoice = await ChaosHarness.SucceededIntentsByAsync(ledger, "billing_invoice_id");
        await Parallel.ForEachAsync(subs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (s, _) =>
        {
            tally.Run();
            var invoices = (await GetAsync(clients[1], $"/api/invoices?customer={s.Customer}&limit=100"))["data"]!.AsArray();
            var periods = invoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!).ToList();
            tally.Check(periods.Count == 2 && periods.Distinct().Count() == 2, $"{s.Subscription}: {periods.Count} invoices for {periods.Distinct().Count()} periods");
            var sub = await GetAsync(clients[2], $"/api/subscriptions/{s.Subscription}");
            tally.Check((DateTimeOffset)sub["current_period_start"]! == anchor, $"{s.Subscription}: missed renewal (period starts {sub["current_period_start"]})");
            tally.Check((string?)sub["status"] == "active", $"{s.Subscription}: {sub["status"]} after the renewal{(s.Declines ? " and the retry" : "")}");
            foreach (var invoice in invoices)
            {
                var intents = byInvoice[(string)invoice!["id"]!].ToList();
                tally.Check(intents.Count <= 1, $"{s.Subscription}: {intents.Count} successful charges for invoice {invoice["id"]}");
                tally.Check(intents.Sum(i => (long)i["amount_received"]!) == (long)invoice["amount_paid"]!, $"{s.Subscription}: Stripe and the invoice disagree on {invoice["id"]}");
            }
        });
        tally.Report($"{count} subscriptions, {declined.Count} declined then retried from 3 processes at once");
    }

    private static async Task SetDefaultCardAsync(HttpClient client, string customer, string token)
    {
        var card = await AppProcess.PostForIdAsync(client, $"/api/customers/{customer}/payment-methods", new { payment_method = token });
        using var response = await client.PostAsync(new Uri($"/api/customers/{customer}/payment-methods/{card}/default", UriKind.Relative), null);
        Assert.True(response.IsSuccessStatusCode, $"default card: {(int)response.StatusCode}");
    }

    private static DateTimeOffset NextMinute(DateTimeOffset t) => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero).AddMinutes(1);

    /// <summary>Rows of the due-work index due before <paramref name="timeKey"/> (every shard).</summary>
    private static async Task<int> CountDueAsync(TableClient schedule, string timeKey)
    {
        var n = 0;
        await foreach (var _ in schedule.QueryAsync<TableEntity>($"PartitionKey ge 'due-' and PartitionKey lt 'due.' and RowKey lt '{timeKey}'", select: ["PartitionKey"]))
        {
            n++;
        }

        return n;
    }

    private static async Task<JsonNode> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonNode>();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body?.ToJsonString()}");
        return body!;
    }
}
