using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Billing.Benchmarks.Harness;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.StripeEmulator;

namespace Billing.Benchmarks.Scenarios;

/// <summary>
/// N subscriptions (default 10,000; quick 1,000) on a daily price, all anchored to the same instant, fall due at once
/// and are renewed by the app's own BillingClock timer and WorkItems queue function (LocalHost, in the app process;
/// Stripe = the emulator on its own port in the harness process, its webhooks delivered to the app over HTTP): invoice, finalize (number + PDF to Blob), off-session charge, state, next
/// schedule. Reports sustained renewals/s, the app's peak RSS, storage operations per renewal (counted in the app by
/// its storage pipeline counter), Azurite's raw throughput for the same mix of operations measured right after, and
/// the ratio achieved ÷ storage-bound ceiling.
/// </summary>
public static class RenewalRunScenario
{
    public static async Task RunAsync(Results results, string appDirectory, string storageConnectionString, Func<TimeSpan> storageCpu, bool quick, int? renewals = null)
    {
        var count = renewals ?? (quick ? 1_000 : 10_000);

        // Stripe is another process in production: the emulator runs here, in the harness, on its own port, and sends
        // its signed webhooks to the app over HTTP — so its state (every customer, intent and event) is not the app's memory.
        await using var stripe = await StripeEmulatorServer.StartAsync();
        var webhookSecret = "whsec_bench_" + Guid.NewGuid().ToString("N");
        await using var app = AppProcess.Start(appDirectory, storageConnectionString, new Dictionary<string, string>
        {
            ["LocalHost__Enabled"] = "true",
            ["Storage__CountOperations"] = "true",
            ["Storage__NamePrefix"] = "renew",
            ["Stripe__ApiBase"] = stripe.BaseUrl.ToString(),
            ["Stripe__WebhookSecrets__0"] = webhookSecret,
        });
        await app.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        stripe.Emulator.Webhooks.AddEndpoint(new WebhookEndpoint(new Uri(app.BaseAddress, "/api/webhooks/stripe"), webhookSecret));
        stripe.Emulator.Webhooks.DeliveryConcurrency = 16; // like Stripe, many in flight: one at a time would fall behind the renewals' three events each
        using var client = app.Client(512);
        client.Timeout = TimeSpan.FromMinutes(2); // at 10,000 Azurite pauses for seconds while it saves its whole table database

        var product = await AppProcess.PostForIdAsync(client, "/api/products", new { name = "Daily bench plan" });
        var price = await AppProcess.PostForIdAsync(client, "/api/prices", new { product, currency = "usd", billing_scheme = "per_unit", unit_amount = 1_000, recurring = new { interval = "day" } });
        var setup = Stopwatch.StartNew();
        var customers = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            customers[i] = await AppProcess.PostForIdAsync(client, "/api/customers", new { email = $"renew{i}@example.com", name = $"Renew {i}" });
            await AppProcess.PostForIdAsync(client, $"/api/customers/{customers[i]}/payment-methods", new { payment_method = "pm_card_visa" });
        });
        var customerRate = count / setup.Elapsed.TotalSeconds;
        Console.WriteLine($"  renewal: {count} customers with cards in {setup.Elapsed.TotalSeconds:F0} s");

        // All anchored one second before a minute boundary that leaves time to create them: the BillingClock timer
        // (every minute at :00) then finds them all due at once. Created with proration_behavior=none (Stripe's free
        // time until the anchor): the first invoice is $0 and paid without a charge, so the set-up costs no Stripe
        // payment and webhooks, and what falls due at the anchor is an ordinary renewal: a full period's
        // subscription_cycle invoice, charged off-session. A subscription costs a few customers, and more as the tables
        // grow (Azurite saves its whole table database every 5 s): about 2.5× at 1,000 and 4× at 10,000 since creating
        // one makes no table query (night of 2026-12-07: customers at 43/s, subscriptions at 10.8/s; 8× at 10,000
        // before), so the plan is 4 × (count / 1,000)^0.3 customers' time: 8× at 10,000, twice what it takes.
        var subscribeEstimate = TimeSpan.FromSeconds(count / Math.Max(10, customerRate) * 4 * Math.Max(1, Math.Pow(count / 1_000.0, 0.3)) + 60);
        var boundary = NextMinute(DateTimeOffset.UtcNow + subscribeEstimate);
        var anchor = boundary.AddSeconds(-1);
        Console.WriteLine($"  renewal: subscriptions planned to be due at {anchor:HH:mm:ss}");
        var beforeSubscribing = await CountersAsync(client);
        var subscribed = 0;
        var subscribing = Stopwatch.StartNew();
        await Parallel.ForEachAsync(customers, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (customer, _) =>
        {
            await AppProcess.PostForIdAsync(client, "/api/subscriptions", new { customer, items = new[] { new { price, quantity = 1 } }, billing_cycle_anchor = anchor, proration_behavior = "none" });
            if (Interlocked.Increment(ref subscribed) % 1_000 == 0)
            {
                Console.WriteLine($"  renewal: {subscribed} subscriptions after {subscribing.Elapsed.TotalSeconds:F0} s");
            }
        });
        Console.WriteLine($"  renewal: {count} subscriptions in {subscribing.Elapsed.TotalSeconds:F0} s ({count / subscribing.Elapsed.TotalSeconds:F1}/s; planned ≤ {(subscribeEstimate - TimeSpan.FromSeconds(60)).TotalSeconds:F0} s)");
        PrintDetail("storage operations per subscription created", beforeSubscribing, await CountersAsync(client), count);
        Console.WriteLine($"  renewal: {count} customers, cards and subscriptions in {setup.Elapsed.TotalSeconds:F0} s; due at {anchor:HH:mm:ss}; app RSS {app.RssMegabytes():F0} MB (peak so far {app.PeakRssMegabytes():F0} MB)");
        if (DateTimeOffset.UtcNow >= anchor)
        {
            throw new InvalidOperationException("Creating the subscriptions took longer than planned; they are not all due at once.");
        }

        await Task.Delay(boundary - DateTimeOffset.UtcNow);
        var before = await CountersAsync(client);
        var webhooksBefore = stripe.Emulator.Webhooks.DeliveredCount; // the set-up's own events are not the renewals'
        var schedule = new TableClient(storageConnectionString, "renew" + TableScheduleStore.TableName);
        var nextKey = TableScheduleStore.TimeKey(anchor.AddDays(1));
        var clock = Stopwatch.StartNew();
        var storageCpuBefore = storageCpu();
        var marks = new List<(double Seconds, int Done)>();
        var done = 0;

        // Progress from the app's own count of next-step schedule writes (one per renewal, its last step; an in-memory
        // counter, so polling costs Azurite nothing), and the exact count — the renewals' next-period rows, a range query
        // that Azurite answers by scanning the table — only once that says all are done, and at the end.
        var scheduleWrites = $"detail/table.PUT.renew{TableScheduleStore.TableName}(point:time)";
        while (clock.Elapsed < TimeSpan.FromMinutes(quick ? 5 : 30))
        {
            await Task.Delay(500);
            var progress = (int)Math.Min(count, (await CountersAsync(client)).GetValueOrDefault(scheduleWrites) - before.GetValueOrDefault(scheduleWrites));
            marks.Add((clock.Elapsed.TotalSeconds, progress));
            if (marks.Count % 20 == 0)
            {
                Console.WriteLine($"  renewal: {progress}/{count} after {clock.Elapsed.TotalSeconds:F0} s; app RSS {app.RssMegabytes():F0} MB");
            }

            if (progress >= count && (done = await CountRowsAsync(schedule, nextKey)) >= count)
            {
                break;
            }
        }

        done = done >= count ? done : await CountRowsAsync(schedule, nextKey);

        // Stripe's events about the renewals' payments (payment_intent.created, charge.succeeded, payment_intent.succeeded)
        // are part of the work: wait until all are delivered and processed, so their storage operations are counted.
        var webhooksDelivered = stripe.Emulator.Webhooks.DeliveredCount;
        var stripeEvents = new QueueClient(storageConnectionString, "renew" + Billing.Functions.Payments.StripeEventsFunction.Queue);
        var drain = Stopwatch.StartNew();
        while (drain.Elapsed < TimeSpan.FromMinutes(quick ? 3 : 10)
            && (stripe.Emulator.Webhooks.PendingCount > 0 || (await stripeEvents.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0))
        {
            await Task.Delay(500);
        }

        Console.WriteLine($"  renewal: Stripe webhooks: {webhooksDelivered} delivered when the last renewal was scheduled, {stripe.Emulator.Webhooks.DeliveredCount} after draining for {drain.Elapsed.TotalSeconds:F0} s");
        var after = await CountersAsync(client);
        var storageBusy = (storageCpu() - storageCpuBefore) / clock.Elapsed;
        Console.WriteLine($"  renewal: Azurite's CPU from the timer tick until drained: {storageBusy:P0} of one core ({clock.Elapsed.TotalSeconds:F0} s)");
        var first = marks.FirstOrDefault(m => m.Done > 0);
        var t10 = marks.FirstOrDefault(m => m.Done >= count / 10);
        var t90 = marks.FirstOrDefault(m => m.Done >= count * 9 / 10);
        var sustained = t90.Seconds > t10.Seconds ? (t90.Done - t10.Done) / (t90.Seconds - t10.Seconds) : double.NaN;
        var overall = done / (marks.Count > 0 ? marks[^1].Seconds : double.NaN);
        var ops = after.Keys.ToDictionary(k => k, k => after[k] - before.GetValueOrDefault(k), StringComparer.Ordinal);
        var perRenewal = ops.GetValueOrDefault("total") / (double)Math.Max(1, done);
        Console.WriteLine($"  renewal: {done}/{count} renewed; first after {first.Seconds:F1} s; storage operations: {string.Join(", ", ops.Where(o => !o.Key.Contains('/', StringComparison.Ordinal)).Select(o => $"{o.Key}={o.Value}"))}");
        PrintDetail("storage operations per renewal", before, after, done);

        if (double.IsNaN(sustained))
        {
            sustained = overall;
        }

        // Azurite alone for its raw rate: a run stopped at its time limit leaves the app still renewing.
        var peakRss = app.PeakRssMegabytes();
        await app.StopAsync();
        var raw = await AzuriteMixAsync(storageConnectionString, ops, new TableClient(storageConnectionString, "renew" + TableNames.Billing), customers, TimeSpan.FromSeconds(quick ? 8 : 20));
        var ceiling = raw / perRenewal;
        results.Add("renewal", "subscriptions renewed", done, "count", count.ToString(CultureInfo.InvariantCulture), done == count);
        results.Add("renewal", "sustained renewals/s (10%→90%)", sustained, "renewals/s", "≥ 100", sustained >= 100);
        results.Add("renewal", "overall renewals/s (timer tick → last)", double.IsFinite(overall) ? overall : 0, "renewals/s");
        results.Add("renewal", "app peak RSS", peakRss, "MB", "≤ 300", peakRss <= 300);
        results.Add("renewal", "Stripe webhooks per renewal (delivered and processed)", (stripe.Emulator.Webhooks.DeliveredCount - webhooksBefore) / (double)Math.Max(1, done), "events");
        results.Add("renewal", "storage operations per renewal (webhook processing included)", perRenewal, "ops", null, null,
            string.Join(", ", ops.Where(o => o.Key != "total" && !o.Key.Contains('/', StringComparison.Ordinal)).Select(o => $"{o.Key} {o.Value / (double)Math.Max(1, done):F1}")));
        results.Add("renewal", "Azurite CPU, timer tick → drained (one Node.js thread)", storageBusy * 100, "% of a core");
        results.Add("renewal", "Azurite raw throughput, same mix", raw, "ops/s");
        results.Add("renewal", "storage-bound ceiling", ceiling, "renewals/s");
        var ratio = double.IsFinite(sustained / ceiling) ? sustained / ceiling : 0;
        results.Add("renewal", "achieved ÷ ceiling", ratio, "ratio", "≥ 0.7", ratio >= 0.7);
    }

    private static DateTimeOffset NextMinute(DateTimeOffset t) => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero).AddMinutes(1);

    private static void PrintDetail(string title, Dictionary<string, long> before, Dictionary<string, long> after, int per)
    {
        Console.WriteLine($"  renewal: {title} by target:");
        foreach (var (key, value) in after.Where(o => o.Key.StartsWith("detail/", StringComparison.Ordinal))
            .Select(o => (o.Key, Value: o.Value - before.GetValueOrDefault(o.Key))).Where(o => o.Value > 0).OrderByDescending(o => o.Value))
        {
            Console.WriteLine($"    {value / (double)Math.Max(1, per),7:F2}  {key["detail/".Length..]}");
        }
    }

    private static async Task<int> CountRowsAsync(TableClient schedule, string prefix)
    {
        var n = 0;
        var filter = $"PartitionKey ge 'due-00' and PartitionKey le 'due-15' and RowKey ge '{prefix}' and RowKey lt '{prefix}~'";
        await foreach (var _ in schedule.QueryAsync<TableEntity>(filter, select: ["PartitionKey"]))
        {
            n++;
        }

        return n;
    }

    private static async Task<Dictionary<string, long>> CountersAsync(HttpClient client)
    {
        var body = await client.GetFromJsonAsync<Dictionary<string, long>>(new Uri("/api/diagnostics/storage-operations", UriKind.Relative));
        return body ?? [];
    }

    /// <summary>
    /// Azurite driven directly (64 concurrent) with the renewal's operations as the app's counter saw them (see
    /// <see cref="Billing.Functions.Storage.StorageOperationCounter"/>), each kind in its share and at its average size:
    /// table point reads of an entity as large as the app's answers, single-entity writes as large as its requests,
    /// entity-group transactions carrying as many entities of the same size as the app's, table queries (a customer's
    /// partition and row-key range on the run's own billing table, as the renewal's query: Azurite answers a query by
    /// scanning the whole table, so its cost depends on how much is stored), blob writes and reads and queue sends,
    /// receives and deletes at their sizes — for <paramref name="duration"/>: the storage-bound ceiling's numerator, in
    /// operations/s (a transaction counts as one operation, as in the app's count).
    /// </summary>
    private static async Task<double> AzuriteMixAsync(string connection, IReadOnlyDictionary<string, long> mix, TableClient billing, IReadOnlyList<string> customers, TimeSpan duration)
    {
        var table = new TableClient(connection, "rawmix");
        await table.CreateIfNotExistsAsync();
        var container = new BlobContainerClient(connection, "rawmix");
        await container.CreateIfNotExistsAsync();
        var queue = new QueueClient(connection, "rawmix");
        await queue.CreateIfNotExistsAsync();

        var kinds = MixKinds(mix);
        Console.WriteLine("  renewal: Azurite raw mix replays the run's operations: " + string.Join(", ", kinds.Select(k =>
            $"{k.Kind} {k.Count}×{(k.Entities > 1 ? $"{k.Entities:F1} entities × " : "")}{k.Bytes:F0} B")));
        var read = kinds.First(k => k.Kind == "table.read");
        var blobRead = kinds.First(k => k.Kind == "blob.read");
        await table.UpsertEntityAsync(Entity("p", "seed", read.Bytes - EntityOverhead), TableUpdateMode.Replace);
        await container.GetBlobClient("seed").UploadAsync(BinaryData.FromBytes(new byte[Math.Max(1, (int)blobRead.Bytes)]), overwrite: true);
        var total = kinds.Sum(k => (double)k.Count);
        if (total <= 0)
        {
            return double.NaN;
        }

        long operations = 0;
        var received = new System.Collections.Concurrent.ConcurrentQueue<(string Id, string PopReceipt)>();
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            var n = 0;
            while (stop.Elapsed < duration)
            {
                var pick = random.NextDouble() * total;
                var k = 0;
                while (k < kinds.Count - 1 && pick >= kinds[k].Count)
                {
                    pick -= kinds[k].Count;
                    k++;
                }

                var kind = kinds[k];
                var id = $"{worker}-{n++}";
                switch (kind.Kind)
                {
                    case "table.read":
                        await table.GetEntityAsync<TableEntity>("p", "seed");
                        break;
                    case "table.query":
                        var customer = customers[random.Next(customers.Count)];
                        await foreach (var _ in billing.QueryAsync<TableEntity>($"PartitionKey eq '{customer}' and RowKey ge 'inv|' and RowKey lt 'inv}}'"))
                        {
                        }

                        break;
                    case "table.write":
                        await table.UpsertEntityAsync(Entity("p" + (worker % 16), id, kind.Bytes - EntityOverhead), TableUpdateMode.Replace);
                        break;
                    case "table.transaction":
                        var width = Math.Max(1, (int)kind.Entities + (random.NextDouble() < kind.Entities % 1 ? 1 : 0));
                        await table.SubmitTransactionAsync([.. Enumerable.Range(0, width).Select(i =>
                            new TableTransactionAction(TableTransactionActionType.UpsertReplace, Entity("t" + worker, $"{id}-{i}", kind.Bytes - TransactionPartOverhead)))]);
                        break;
                    case "blob.read":
                        await container.GetBlobClient("seed").DownloadContentAsync();
                        break;
                    case "blob.write":
                        await container.GetBlobClient(id).UploadAsync(BinaryData.FromBytes(new byte[Math.Max(1, (int)kind.Bytes)]), overwrite: true);
                        break;
                    case "queue.receive":
                        foreach (var m in (await queue.ReceiveMessagesAsync(1)).Value)
                        {
                            received.Enqueue((m.MessageId, m.PopReceipt));
                        }

                        break;
                    case "queue.delete" when received.TryDequeue(out var message):
                        await queue.DeleteMessageAsync(message.Id, message.PopReceipt);
                        break;
                    case "queue.delete":
                        await queue.ReceiveMessagesAsync(1); // nothing received yet to delete: a receive costs about as much
                        break;
                    default:
                        await queue.SendMessageAsync(new string('m', Math.Max(1, (int)kind.Bytes)));
                        break;
                }

                Interlocked.Increment(ref operations);
            }
        })));
        return operations / stop.Elapsed.TotalSeconds;
    }

    // What an entity's request or answer carries besides its data (keys, timestamps, OData annotations), and what each
    // entity of a transaction's body carries besides its JSON (its part's HTTP request line and headers) — roughly.
    private const double EntityOverhead = 300;
    private const double TransactionPartOverhead = 600;

    private static TableEntity Entity(string partition, string row, double bytes) => new(partition, row) { ["D0"] = new string('x', Math.Clamp((int)bytes, 1, 60_000)) };

    /// <summary>The counter's detail (<c>detail/table.GET.Billing(point:sub)</c> …) grouped into the kinds replayed, with count, average bytes and entities per transaction.</summary>
    private static List<(string Kind, long Count, double Bytes, double Entities)> MixKinds(IReadOnlyDictionary<string, long> mix)
    {
        var kinds = new Dictionary<string, (long Count, long Bytes, long Entities)>(StringComparer.Ordinal);
        foreach (var (key, count) in mix.Where(m => m.Key.StartsWith("detail/", StringComparison.Ordinal)))
        {
            var name = key["detail/".Length..];
            var parts = name.Split('.', 3);
            var read = parts[1] is "GET" or "HEAD";
            var kind = (parts[0], parts[1]) switch
            {
                ("table", _) when parts[2] == "$batch" => "table.transaction",
                ("table", _) when parts[2].EndsWith("(query)", StringComparison.Ordinal) => "table.query",
                ("queue", "GET") => "queue.receive",
                ("queue", "DELETE") => "queue.delete",
                ("queue", _) => "queue.send",
                _ => parts[0] + (read ? ".read" : ".write"),
            };
            var bytes = mix.GetValueOrDefault((read ? "received/" : "sent/") + name);
            var (c, b, e) = kinds.GetValueOrDefault(kind);
            kinds[kind] = (c + count, b + bytes, e + mix.GetValueOrDefault("entities/" + name));
        }

        string[] order = ["table.read", "table.query", "table.write", "table.transaction", "blob.read", "blob.write", "queue.send", "queue.receive", "queue.delete"];
        return [.. order.Select(kind =>
        {
            var (count, bytes, entities) = kinds.GetValueOrDefault(kind);
            var size = kind == "table.transaction" ? bytes / (double)Math.Max(1, entities) : bytes / (double)Math.Max(1, count);
            return (kind, count, Math.Max(1, size), kind == "table.transaction" && count > 0 ? entities / (double)count : 1.0);
        })];
    }
}
