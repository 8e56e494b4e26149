using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Billing.Functions.Tests.Infrastructure;

/// <summary>Small HTTP helpers so tests read as what they do.</summary>
public static class Api
{
    public static async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> SendAsync(
        this HttpClient client, HttpMethod method, string path, object? body = null, string? idempotencyKey = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = body is string raw
                ? new StringContent(raw, Encoding.UTF8, "application/json")
                : JsonContent.Create(body, options: new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var node = text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false)
            ? JsonNode.Parse(text) ?? new JsonObject()
            : new JsonObject { ["raw"] = text };
        return (response.StatusCode, node, response);
    }

    public static Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> PostJsonAsync(this HttpClient client, string path, object? body = null, string? idempotencyKey = null) =>
        client.SendAsync(HttpMethod.Post, path, body ?? "{}", idempotencyKey);

    public static Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> GetJsonAsync(this HttpClient client, string path) =>
        client.SendAsync(HttpMethod.Get, path);

    public static Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> PatchJsonAsync(this HttpClient client, string path, object body) =>
        client.SendAsync(HttpMethod.Patch, path, body);

    public static Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> DeleteJsonAsync(this HttpClient client, string path) =>
        client.SendAsync(HttpMethod.Delete, path);

    /// <summary>Asserts a problem-details answer with <paramref name="status"/> and returns its field errors (may be empty).</summary>
    public static JsonObject AssertProblem(this (HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response) result, HttpStatusCode status)
    {
        Assert.Equal(status, result.Status);
        Assert.Equal("application/problem+json", result.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, (int)result.Body["status"]!);
        Assert.False(string.IsNullOrEmpty((string?)result.Body["title"]));
        Assert.False(string.IsNullOrEmpty((string?)result.Body["traceId"]));
        return result.Body["errors"] as JsonObject ?? [];
    }

    public static string Id(this (HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response) result) =>
        (string?)result.Body["id"] ?? throw new InvalidOperationException("No id in " + result.Body.ToJsonString());

    public static async Task<string> CreateCustomerAsync(this HttpClient admin, object? body = null)
    {
        var created = await admin.PostJsonAsync("/api/customers", body ?? new { email = "someone@example.com", name = "Someone" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        return created.Id();
    }
}
