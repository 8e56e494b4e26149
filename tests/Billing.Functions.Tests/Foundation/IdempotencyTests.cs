using System.Net;
using System.Security.Cryptography;
using System.Text;
using Billing.Functions.Idempotency;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class IdempotencyTests(AppFixture fixture)
{
    private readonly HttpClient admin = fixture.App.Admin();

    private static string NewKey() => "test-" + Guid.NewGuid();

    private async Task<int> CountCustomersNamedAsync(string name)
    {
        var found = 0;
        string? after = null;
        do
        {
            var page = await admin.GetJsonAsync("/api/customers?limit=100" + (after is null ? "" : "&starting_after=" + after));
            var data = page.Body["data"]!.AsArray();
            found += data.Count(c => (string?)c!["name"] == name);
            after = (bool)page.Body["has_more"]! ? (string)data[^1]!["id"]! : null;
        }
        while (after is not null);
        return found;
    }

    [Fact]
    public async Task The_same_key_and_request_replays_the_first_response()
    {
        var key = NewKey();
        var name = "Replay " + key;

        var first = await admin.PostJsonAsync("/api/customers", new { name }, key);
        var second = await admin.PostJsonAsync("/api/customers", new { name }, key);

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, second.Status);
        Assert.Equal(first.Id(), second.Id());
        Assert.Equal(first.Body.ToJsonString(), second.Body.ToJsonString());
        Assert.Equal(first.Response.Headers.Location, second.Response.Headers.Location);
        Assert.Equal("true", second.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await CountCustomersNamedAsync(name));
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422()
    {
        var key = NewKey();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/customers", new { name = "One" }, key)).Status);

        var reused = await admin.PostJsonAsync("/api/customers", new { name = "Two" }, key);

        reused.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("idempotency_key_reused", (string?)reused.Body["code"]);
    }

    [Fact]
    public async Task A_duplicate_while_the_first_is_running_is_409()
    {
        var key = NewKey();
        var body = """{"name":"In flight"}""";
        var store = fixture.App.Services.GetRequiredService<IdempotencyStore>();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("POST /api/customers\n" + body)));
        var (claim, _, _) = await store.ClaimAsync("key:test-admin", key, hash, CancellationToken.None);
        Assert.Equal(IdempotencyClaim.Started, claim);

        var duplicate = await admin.PostJsonAsync("/api/customers", body, key);

        duplicate.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("idempotency_key_in_use", (string?)duplicate.Body["code"]);
    }

    [Fact]
    public async Task Parallel_identical_requests_create_one_customer()
    {
        var key = NewKey();
        var name = "Parallel " + key;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => fixture.App.Admin().PostJsonAsync("/api/customers", new { name }, key)));

        Assert.All(results, r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.Conflict, r.Status.ToString()));
        Assert.Single(results.Where(r => r.Status == HttpStatusCode.Created).Select(r => r.Id()).Distinct());
        Assert.Equal(1, await CountCustomersNamedAsync(name));
    }

    [Fact]
    public async Task Keys_are_scoped_per_api_key()
    {
        var key = NewKey();
        var customer = await admin.CreateCustomerAsync();
        var token = (string)(await admin.PostJsonAsync($"/api/customers/{customer}/sessions")).Body["token"]!;
        var first = await admin.PostJsonAsync("/api/customers", new { name = "Scoped" }, key);

        // The customer token uses the same key text for a different request: no clash with the admin key's record.
        var other = await fixture.App.WithBearer(token).PatchJsonAsync($"/api/customers/{customer}", new { name = "Scoped too" });

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.OK, other.Status);
    }

    [Fact]
    public async Task Validation_failures_are_replayed_too_and_change_nothing()
    {
        var key = NewKey();
        var first = await admin.PostJsonAsync("/api/customers", new { email = "bad" }, key);
        var second = await admin.PostJsonAsync("/api/customers", new { email = "bad" }, key);
        first.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(first.Body["errors"]!.ToJsonString(), second.Body["errors"]!.ToJsonString());
    }

    [Fact]
    public async Task An_oversized_key_is_400()
    {
        var result = await admin.PostJsonAsync("/api/customers", new { name = "x" }, new string('k', 256));
        result.AssertProblem(HttpStatusCode.BadRequest);
    }
}
