using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Billing.Benchmarks.Harness;

namespace Billing.Benchmarks.Scenarios;

/// <summary>
/// A mixed API workload at a fixed rate (default 200 requests/s for 60 s): reads of customers and the catalog, lists, and
/// updates. Reports p50/p99/max from each request's scheduled start (target p99 ≤ 25 ms).
/// </summary>
public static class ApiLatencyScenario
{
    public static async Task RunAsync(Results results, AppProcess app, bool quick)
    {
        using var client = app.Client();
        var product = await PostAsync(client, "/api/products", new { name = "Bench plan" });
        var price = await PostAsync(client, "/api/prices", new { product, currency = "usd", billing_scheme = "per_unit", unit_amount = 1200, recurring = new { interval = "month" } });
        var customers = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            customers.Add(await PostAsync(client, "/api/customers", new { email = $"bench{i}@example.com", name = $"Bench {i}" }));
        }

        // Warm-up: JIT, connection pool, storage caches.
        await OpenLoad.RunAsync(100, TimeSpan.FromSeconds(quick ? 2 : 5), i => Request(client, customers, price, i));

        var duration = TimeSpan.FromSeconds(quick ? 10 : 60);
        var (latencies, errors, rate) = await OpenLoad.RunAsync(200, duration, i => Request(client, customers, price, i));
        results.Add("api", "achieved request rate", rate, "req/s", "200");
        results.Add("api", "p50 latency", latencies.Percentile(50), "ms");
        results.Add("api", "p99 latency", latencies.Percentile(99), "ms", "≤ 25", latencies.Percentile(99) <= 25);
        results.Add("api", "max latency", latencies.Max, "ms");
        results.Add("api", "errors (non-2xx or failed)", errors, "count", "0", errors == 0);
    }

    /// <summary>50% customer reads, 15% customer lists, 15% price reads, 20% customer updates.</summary>
    private static async Task<bool> Request(HttpClient client, IReadOnlyList<string> customers, string price, int i)
    {
        var customer = customers[i % customers.Count];
        using var response = (i % 20) switch
        {
            < 10 => await client.GetAsync(new Uri($"/api/customers/{customer}", UriKind.Relative)),
            < 13 => await client.GetAsync(new Uri("/api/customers?limit=10", UriKind.Relative)),
            < 16 => await client.GetAsync(new Uri($"/api/prices/{price}", UriKind.Relative)),
            _ => await client.PatchAsJsonAsync($"/api/customers/{customer}", new { metadata = new Dictionary<string, string> { ["seen"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } }),
        };
        return response.IsSuccessStatusCode;
    }

    private static async Task<string> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }
}
