using System.Net;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class AuthTests(AppFixture fixture)
{
    private readonly HttpClient admin = fixture.App.Admin();

    private async Task<string> TokenForAsync(string customerId) =>
        (string)(await admin.PostJsonAsync($"/api/customers/{customerId}/sessions", new { ttl_seconds = 600 })).Body["token"]!;

    [Theory]
    [InlineData(null)]
    [InlineData("sk_test_wrong")]
    [InlineData("ct_forged.c2lnbmF0dXJl")]
    [InlineData("Basic abc")]
    public async Task Missing_or_bad_credentials_are_401_problems(string? credential)
    {
        var client = credential is null ? fixture.App.Anonymous() : fixture.App.WithBearer(credential);
        var result = await client.GetJsonAsync("/api/customers");
        result.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", result.Response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Health_openapi_and_docs_need_no_key()
    {
        var anonymous = fixture.App.Anonymous();
        var health = await anonymous.GetJsonAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("healthy", (string?)health.Body["status"]);
        var openApi = await anonymous.GetJsonAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, openApi.Status);
        Assert.NotNull(openApi.Body["paths"]!["/api/customers"]);
        var docs = await anonymous.GetJsonAsync("/api/docs");
        Assert.Contains("openapi.json", (string?)docs.Body["raw"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_customer_token_sees_and_manages_only_its_own_customer()
    {
        var mine = await admin.CreateCustomerAsync(new { name = "Mine" });
        var theirs = await admin.CreateCustomerAsync(new { name = "Theirs" });
        var token = fixture.App.WithBearer(await TokenForAsync(mine));

        Assert.Equal(HttpStatusCode.OK, (await token.GetJsonAsync($"/api/customers/{mine}")).Status);
        Assert.Equal("Me", (string?)(await token.PatchJsonAsync($"/api/customers/{mine}", new { name = "Me" })).Body["name"]);
        (await token.GetJsonAsync($"/api/customers/{theirs}")).AssertProblem(HttpStatusCode.NotFound);
        (await token.PatchJsonAsync($"/api/customers/{theirs}", new { name = "x" })).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal("Theirs", (string?)(await admin.GetJsonAsync($"/api/customers/{theirs}")).Body["name"]);
    }

    [Fact]
    public async Task Admin_only_endpoints_are_404_to_customer_tokens()
    {
        var mine = await admin.CreateCustomerAsync();
        var token = fixture.App.WithBearer(await TokenForAsync(mine));

        (await token.GetJsonAsync("/api/customers")).AssertProblem(HttpStatusCode.NotFound);
        (await token.PostJsonAsync("/api/customers", new { name = "x" })).AssertProblem(HttpStatusCode.NotFound);
        (await token.DeleteJsonAsync($"/api/customers/{mine}")).AssertProblem(HttpStatusCode.NotFound);
        (await token.PostJsonAsync($"/api/customers/{mine}/sessions")).AssertProblem(HttpStatusCode.NotFound);
        (await token.PostJsonAsync("/api/products", new { name = "x" })).AssertProblem(HttpStatusCode.NotFound);
        (await token.GetJsonAsync("/api/audit-events")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await token.GetJsonAsync("/api/products")).Status);
    }

    [Fact]
    public async Task A_tampered_token_is_401()
    {
        var mine = await admin.CreateCustomerAsync();
        var token = await TokenForAsync(mine);
        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        (await fixture.App.WithBearer(tampered).GetJsonAsync($"/api/customers/{mine}")).AssertProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Session_lifetime_is_bounded()
    {
        var mine = await admin.CreateCustomerAsync();
        var errors = (await admin.PostJsonAsync($"/api/customers/{mine}/sessions", new { ttl_seconds = 999_999 })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey("ttl_seconds"));
        var session = await admin.PostJsonAsync($"/api/customers/{mine}/sessions");
        Assert.Equal(HttpStatusCode.Created, session.Status);
        var expires = DateTimeOffset.Parse((string)session.Body["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));
    }

    [Fact]
    public async Task Each_key_is_rate_limited_with_retry_after()
    {
        await using var limited = new BillingApp(fixture.Azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:RateLimitPerSecond"] = "2" });
        var client = limited.Admin();

        var results = new List<HttpStatusCode>();
        HttpResponseMessage? rejected = null;
        for (var i = 0; i < 10; i++)
        {
            var result = await client.GetJsonAsync("/api/products?limit=1");
            results.Add(result.Status);
            if (result.Status == HttpStatusCode.TooManyRequests)
            {
                rejected ??= result.Response;
                result.AssertProblem(HttpStatusCode.TooManyRequests);
            }
        }

        Assert.Contains(HttpStatusCode.OK, results);
        Assert.NotNull(rejected);
        Assert.Equal("1", rejected.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task Cors_allows_configured_origins_only()
    {
        await using var app = new BillingApp(fixture.Azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:CorsOrigins:0"] = "https://app.example.com" });
        var client = app.Anonymous();
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/api/customers/cus_x");
        allowed.Headers.Add("Origin", "https://app.example.com");
        allowed.Headers.Add("Access-Control-Request-Method", "GET");
        var response = await client.SendAsync(allowed);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var denied = new HttpRequestMessage(HttpMethod.Options, "/api/customers/cus_x");
        denied.Headers.Add("Origin", "https://evil.example.com");
        denied.Headers.Add("Access-Control-Request-Method", "GET");
        Assert.False((await client.SendAsync(denied)).Headers.Contains("Access-Control-Allow-Origin"));
    }
}
