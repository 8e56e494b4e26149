using System.Net;
using System.Text;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class HttpConventionsTests(AppFixture fixture)
{
    private readonly HttpClient admin = fixture.App.Admin();

    [Fact]
    public async Task Oversized_bodies_are_413()
    {
        var huge = "{\"name\":\"" + new string('x', 300 * 1024) + "\"}";
        (await admin.PostJsonAsync("/api/customers", huge)).AssertProblem(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Non_json_bodies_are_415()
    {
        using var content = new StringContent("name=x", Encoding.UTF8, "application/x-www-form-urlencoded");
        var response = await admin.PostAsync(new Uri("/api/customers", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_missing_body_is_400()
    {
        using var content = new StringContent("", Encoding.UTF8, "application/json");
        var response = await admin.PostAsync(new Uri("/api/customers", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_routes_are_404_problems() =>
        (await admin.GetJsonAsync("/api/nothing-here")).AssertProblem(HttpStatusCode.NotFound);

    [Fact]
    public async Task Invalid_utf8_is_400()
    {
        using var content = new ByteArrayContent([0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]);
        content.Headers.ContentType = new("application/json");
        var response = await admin.PostAsync(new Uri("/api/customers", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Mutating_calls_are_audited_with_actor_target_and_outcome()
    {
        var id = await admin.CreateCustomerAsync(new { name = "Audited" });
        await admin.PatchJsonAsync($"/api/customers/{id}", new { email = "bad" });

        var trail = await admin.GetJsonAsync("/api/audit-events?limit=100");

        var events = trail.Body["data"]!.AsArray().Where(e => (string?)e!["target"] == id).ToList();
        Assert.True(events.Count >= 2, trail.Body.ToJsonString());
        Assert.Contains(events, e => (string?)e!["action"] == "POST /api/customers" && (int)e["status"]! == 201 && (string?)e["actor"] == "key:test-admin");
        Assert.Contains(events, e => (string?)e!["action"] == "PATCH /api/customers/{id}" && (int)e["status"]! == 400);
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty((string?)e!["request_id"])));
    }
}
