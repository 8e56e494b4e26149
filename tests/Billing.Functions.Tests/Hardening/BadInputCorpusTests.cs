using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Hardening;

/// <summary>
/// Bad input generated from the OpenAPI document and the route table, sent with an admin key at real targets of an
/// app with its own storage prefix: every answer must be a 4xx problem (400–422, <c>application/problem+json</c>,
/// <c>traceId</c>), never a 5xx, and storage must not change at all (rows with their ETags, queues, blobs; the
/// Audit and Idempotency tables record calls by design and are left out).
/// </summary>
[Collection(AppCollection.Name)]
public sealed class BadInputCorpusTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task Bad_input_is_always_a_4xx_problem_and_changes_nothing() => RunAsync(CorpusDepth.Short);

    [LongFact]
    [Trait("Category", "Long")]
    public Task Long_bad_input_corpus_is_always_a_4xx_problem_and_changes_nothing() => RunAsync(CorpusDepth.Long);

    [Fact]
    public async Task Every_endpoint_that_takes_a_body_has_a_request_schema_or_a_sample_body()
    {
        var document = await OpenApiAsync(fixture.App.Admin());
        var missing = ApiSurface.Discover(fixture.App)
            .Where(e => e.AcceptsBody && document.RequestSchema(e) is null && !RouteTargets.Bodies.ContainsKey(e.Key))
            .Select(e => $"{e.Key} takes a body but the OpenAPI document has no request schema for it: add a valid body to {nameof(RouteTargets)}.{nameof(RouteTargets.Bodies)}[\"{e.Key}\"]")
            .ToList();
        Assert.True(missing.Count == 0, string.Join('\n', missing));
    }

    private async Task RunAsync(CorpusDepth depth)
    {
        // Its own storage prefix (so a storage snapshot sees only this app) and a Stripe emulator for payment endpoints.
        await using var harness = await PaymentsHarness.StartAsync(fixture);
        var app = harness.App;
        var admin = app.Admin();
        var document = await OpenApiAsync(admin);
        var endpoints = ApiSurface.Discover(app).Where(e => BadInputCorpus.Covers(e, document)).ToList();
        var missing = RouteTargets.Missing(endpoints).ToList();
        Assert.True(missing.Count == 0, "The bad-input corpus needs real targets:\n" + string.Join('\n', missing));

        var prepared = new List<PreparedEndpoint>();
        foreach (var endpoint in endpoints)
        {
            var context = new TargetContext(harness, await admin.CreateCustomerAsync(new { name = "Target owner" }));
            var (values, path) = await RouteTargets.CreateAsync(endpoint, context);
            var sample = RouteTargets.Bodies.GetValueOrDefault(endpoint.Key);
            var body = sample is not null ? await sample.Create(context, values)
                : endpoint.AcceptsBody || document.RequestSchema(endpoint) is not null ? [] : null;
            prepared.Add(new PreparedEndpoint(endpoint, values, path, body, sample?.Required ?? []));
        }

        var cases = BadInputCorpus.Build(prepared, document, depth);
        await harness.DrainEventsAsync();
        var before = await StorageSnapshot.TakeAsync(app);
        Assert.Empty(StorageSnapshot.Diff(before, await StorageSnapshot.TakeAsync(app)));

        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        foreach (var group in cases.GroupBy(c => c.Endpoint))
        {
            await Parallel.ForEachAsync(group, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (bad, _) =>
            {
                var answer = await Answer.SendAsync(admin, new HttpMethod(bad.Endpoint.Method), bad.Path, bad.Content());
                statuses.AddOrUpdate(answer.Code, 1, (_, n) => n + 1);
                var defect = answer.Code is < 400 or > 422 ? $"status {answer.Code}" : answer.ProblemDefect();
                if (defect is not null)
                {
                    failures.Enqueue($"{bad.Endpoint.Key} with {bad.Label}: {defect} — {answer.Brief}");
                }
            });

            // Attribute any state change to the endpoint whose bad requests made it, then carry on from there.
            var after = await StorageSnapshot.TakeAsync(app);
            foreach (var change in StorageSnapshot.Diff(before, after).Take(10))
            {
                failures.Enqueue($"{group.Key.Key}: bad requests changed storage: {change}");
            }

            before = after;
        }

        // A bad request that slipped through to Stripe would show up late, as a webhook.
        await harness.DrainEventsAsync();
        foreach (var change in StorageSnapshot.Diff(before, await StorageSnapshot.TakeAsync(app)).Take(10))
        {
            failures.Enqueue($"after the corpus, Stripe webhooks changed storage: {change}");
        }

        output.WriteLine($"Bad-input corpus ({depth.ToString().ToLowerInvariant()}): {cases.Count} requests over {prepared.Count} endpoints " +
            $"({prepared.Count(p => p.Body is not null)} with bodies, {prepared.Count(p => p.Endpoint.Parameters.Count > 0)} with ids, " +
            $"{prepared.Count(p => p.Endpoint.Method == "GET" && document.IsList(p.Endpoint))} lists); answers: " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}")));
        foreach (var (endpoint, reason) in RouteTargets.Unpaged)
        {
            output.WriteLine($"  no paging queries for {endpoint} (known deviation: {reason})");
        }

        foreach (var endpoint in cases.GroupBy(c => c.Endpoint.Key).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {endpoint.Key}: {endpoint.Count()}");
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} bad requests were mishandled:\n" + string.Join('\n', failures.Order(StringComparer.Ordinal).Take(200)));
    }

    private static async Task<OpenApiDocument> OpenApiAsync(HttpClient client) =>
        new(JsonNode.Parse(await client.GetStringAsync(new Uri("/api/openapi.json", UriKind.Relative))) ?? throw new InvalidOperationException("No OpenAPI document."));
}
