using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Hardening;

/// <summary>
/// Every <c>/api</c> endpoint of the running app (read from its route table) × every kind of caller, checked against
/// the endpoint's policy: unauthorized callers get exactly 401 (no or bad credentials) or 404 (a customer token
/// beyond its reach), authorized callers never get 401, 403 or 404, nothing ever answers 403 or 5xx, and what another
/// customer's token may read (lists, the catalog) never mentions the owner's customer id.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class AuthorizationMatrixTests(AppFixture fixture, ITestOutputHelper output)
{
    public enum Caller
    {
        NoCredentials,
        BadKey,
        OtherCustomer,
        Owner,
        Admin,
    }

    private enum Expect
    {
        Unauthenticated,
        NotFound,
        Authorized,
    }

    [Fact]
    public void Every_api_endpoint_has_a_known_policy_and_a_target_registry_entry_where_it_needs_one()
    {
        var endpoints = ApiSurface.Discover(fixture.App);
        Assert.NotEmpty(endpoints);
        var problems = endpoints.Where(e => e.Access is Access.Unprotected or Access.Unknown)
            .Select(e => $"{e.Key} is {e.Access}: use .RequireAuthorization(AuthSetup.AdminPolicy or AuthSetup.CustomerPolicy) or .AllowAnonymous()")
            .Concat(RouteTargets.Missing(endpoints))
            .ToList();
        Assert.True(problems.Count == 0, "The authorization matrix cannot cover:\n" + string.Join('\n', problems));
    }

    [Fact]
    public async Task Every_api_endpoint_answers_every_kind_of_caller_as_its_policy_says()
    {
        // Its own storage prefix and a Stripe emulator, so payment endpoints reach a processor.
        await using var harness = await PaymentsHarness.StartAsync(fixture);
        var app = harness.App;
        var endpoints = ApiSurface.Discover(app).Where(e => e.Access is Access.Anonymous or Access.Admin or Access.Customer && (e.Parameters.Count == 0 && e.Access != Access.Customer || RouteTargets.Find(e) is not null)).ToList();
        var admin = app.Admin();
        var otherCustomer = await admin.CreateCustomerAsync(new { name = "Other customer" });
        var clients = new Dictionary<Caller, HttpClient>
        {
            [Caller.NoCredentials] = app.Anonymous(),
            [Caller.BadKey] = app.WithBearer("sk_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))),
            [Caller.OtherCustomer] = app.WithBearer(await TokenAsync(admin, otherCustomer)),
            [Caller.Admin] = admin,
        };

        var failures = new ConcurrentBag<string>();
        var rows = new ConcurrentBag<string>();
        var authorizedNot2xx = 0;
        await Parallel.ForEachAsync(endpoints, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (endpoint, _) =>
        {
            var ownership = RouteTargets.Find(endpoint)?.Ownership ?? Ownership.Shared;
            var cells = Enum.GetValues<Caller>().Select(caller => (Caller: caller, Expect: Expected(endpoint.Access, ownership, caller))).ToList();
            var statuses = new Dictionary<Caller, int>();

            // Callers that must be turned away share one target (they must not change it); each caller that gets
            // through gets a fresh target, since its call may change or delete it.
            var shared = await PrepareAsync(harness, endpoint, token: endpoint.Access == Access.Admin);
            foreach (var (caller, expect) in cells)
            {
                var request = expect == Expect.Authorized ? await PrepareAsync(harness, endpoint, token: caller == Caller.Owner) : shared;
                var client = caller == Caller.Owner ? app.WithBearer(request.Token!) : clients[caller];
                var answer = await Answer.SendAsync(client, new HttpMethod(endpoint.Method), request.Path, request.Body is null ? null : Answer.Json(request.Body));
                statuses[caller] = answer.Code;
                var defect = Check(expect, answer);
                if (defect is null && caller == Caller.OtherCustomer && answer.Code is >= 200 and < 300 && answer.Text.Contains(request.Owner, StringComparison.Ordinal))
                {
                    defect = $"{answer.Code} that shows the owner's data (customer {request.Owner}) to another customer";
                }

                if (defect is not null)
                {
                    failures.Add($"{endpoint.Key} [{endpoint.Access}, {ownership}] as {caller}: expected {Describe(expect)}, got {defect} — {answer.Brief}");
                }

                if (expect == Expect.Authorized && answer.Code is < 200 or > 299)
                {
                    Interlocked.Increment(ref authorizedNot2xx);
                }
            }

            rows.Add($"{endpoint.Key,-52} {endpoint.Access,-10} {string.Join(' ', cells.Select(c => statuses[c.Caller]))}");
        });

        var cellCount = endpoints.Count * Enum.GetValues<Caller>().Length;
        output.WriteLine($"Authorization matrix: {endpoints.Count} endpoints x {Enum.GetValues<Caller>().Length} callers = {cellCount} cells " +
            $"({authorizedNot2xx} authorized cells answered a non-auth 4xx such as a validation error)");
        output.WriteLine($"{"endpoint",-52} {"policy",-10} {string.Join(' ', Enum.GetNames<Caller>())}");
        foreach (var row in rows.Order(StringComparer.Ordinal))
        {
            output.WriteLine(row);
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} of {cellCount} cells are wrong:\n" + string.Join('\n', failures.Order(StringComparer.Ordinal)));
    }

    private static Expect Expected(Access access, Ownership ownership, Caller caller) => (access, caller) switch
    {
        (Access.Anonymous, _) => Expect.Authorized,
        (_, Caller.NoCredentials or Caller.BadKey) => Expect.Unauthenticated,
        (_, Caller.Admin) => Expect.Authorized,
        (Access.Admin, _) => Expect.NotFound,
        (_, Caller.OtherCustomer) when ownership == Ownership.Customer => Expect.NotFound,
        _ => Expect.Authorized,
    };

    private static string Describe(Expect expect) => expect switch
    {
        Expect.Unauthenticated => "401 problem",
        Expect.NotFound => "404 problem",
        _ => "an authorized answer (2xx or a non-auth 4xx problem, never 401/403/404)",
    };

    /// <summary>Null when the answer is what <paramref name="expect"/> allows; otherwise what is wrong with it.</summary>
    private static string? Check(Expect expect, Answer answer)
    {
        if (answer.Code == 403)
        {
            return "403 (the API never answers 403: 404 hides what a customer may not see)";
        }

        if (answer.Code >= 500)
        {
            return $"a server error {answer.Code}";
        }

        var wanted = expect switch
        {
            Expect.Unauthenticated => 401,
            Expect.NotFound => 404,
            _ => (int?)null,
        };
        if (wanted is { } status)
        {
            return answer.Code != status ? $"{answer.Code}" : answer.ProblemDefect() is { } defect ? $"{status} with {defect}" : null;
        }

        if (answer.Code is 401 or 404)
        {
            return $"{answer.Code}: an authorized caller was turned away";
        }

        return answer.Code >= 400 && answer.ProblemDefect() is { } error ? $"{answer.Code} with {error}" : null;
    }

    private sealed record Prepared(string Owner, string Path, JsonObject? Body, string? Token);

    /// <summary>A fresh owner customer, its target, a body for the call and (if asked) the owner's token.</summary>
    private static async Task<Prepared> PrepareAsync(PaymentsHarness harness, ApiEndpoint endpoint, bool token)
    {
        var admin = harness.Admin;
        var owner = await admin.CreateCustomerAsync(new { name = "Owner", email = "owner@example.com" });
        var ownerToken = token ? await TokenAsync(admin, owner) : null;
        var context = new TargetContext(harness, owner);
        var (values, path) = await RouteTargets.CreateAsync(endpoint, context);
        JsonObject? body = RouteTargets.Bodies.TryGetValue(endpoint.Key, out var sample) ? await sample.Create(context, values)
            : endpoint.AcceptsBody ? [] : null;
        return new Prepared(owner, path, body, ownerToken);
    }

    private static async Task<string> TokenAsync(HttpClient admin, string customerId)
    {
        var session = await admin.PostJsonAsync($"/api/customers/{customerId}/sessions", new { ttl_seconds = 3600 });
        return (string?)session.Body["token"] ?? throw new InvalidOperationException("No token: " + session.Body.ToJsonString());
    }
}
