using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Billing.Functions.Auth;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Hardening;

/// <summary>Who an endpoint admits, read from its metadata.</summary>
public enum Access
{
    /// <summary><c>.AllowAnonymous()</c>.</summary>
    Anonymous,

    /// <summary><c>.RequireAuthorization(AuthSetup.AdminPolicy)</c>.</summary>
    Admin,

    /// <summary><c>.RequireAuthorization(AuthSetup.CustomerPolicy)</c>: admins, or customer tokens scoped by the handler.</summary>
    Customer,

    /// <summary>No authorization metadata at all: anyone can call it. Always a bug under <c>/api</c>.</summary>
    Unprotected,

    /// <summary>Some other policy or a bare <c>RequireAuthorization()</c>; the suites do not know what it should admit.</summary>
    Unknown,
}

/// <summary>One method of one route of the running app.</summary>
public sealed record ApiEndpoint(string Method, string Pattern, Access Access, IReadOnlyList<string> Parameters, bool AcceptsBody)
{
    public string Key => $"{Method} {Pattern}";

    public bool IsMutating => Method is "POST" or "PATCH" or "PUT" or "DELETE";

    public override string ToString() => Key;

    /// <summary>The path with each <c>{name}</c> replaced by the escaped value, except <paramref name="rawParameter"/>, which gets <paramref name="rawValue"/> as is.</summary>
    public string PathFor(IReadOnlyDictionary<string, string> values, string? rawParameter = null, string? rawValue = null) =>
        Parameters.Aggregate(Pattern, (path, name) => path.Replace("{" + name + "}", name == rawParameter ? rawValue : Uri.EscapeDataString(
            values.TryGetValue(name, out var value) ? value : throw new InvalidOperationException($"{Key}: no value for route parameter '{name}'.")), StringComparison.Ordinal));
}

/// <summary>The API surface, read from the running app's route table (<see cref="EndpointDataSource"/>), so new endpoints are covered without anyone listing them.</summary>
public static class ApiSurface
{
    private static readonly string[] Methods = ["GET", "POST", "PATCH", "PUT", "DELETE"];

    public static IReadOnlyList<ApiEndpoint> Discover(BillingApp app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return [.. app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Endpoint: e, Pattern: Normalize(e.RoutePattern)))
            .Where(e => e.Pattern.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(e => (e.Endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Where(m => Methods.Contains(m, StringComparer.Ordinal))
                .Select(m => new ApiEndpoint(
                    m,
                    e.Pattern,
                    Classify(e.Endpoint.Metadata),
                    [.. e.Endpoint.RoutePattern.Parameters.Select(p => p.Name)],
                    e.Endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is { ContentTypes.Count: > 0 })))
            .OrderBy(e => e.Pattern, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal)];
    }

    /// <summary><c>/api/customers/</c> → <c>/api/customers</c>; <c>{id:int}</c> → <c>{id}</c>.</summary>
    public static string Normalize(RoutePattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var path = "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        }))));
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    private static Access Classify(EndpointMetadataCollection metadata)
    {
        if (metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return Access.Anonymous;
        }

        var policies = metadata.GetOrderedMetadata<IAuthorizeData>();
        if (policies.Count == 0)
        {
            return Access.Unprotected;
        }

        // Every IAuthorizeData must pass, so one admin requirement makes the endpoint admin-only.
        if (policies.Any(p => p.Policy == AuthSetup.AdminPolicy && p.Roles is null))
        {
            return Access.Admin;
        }

        return policies.All(p => p.Policy == AuthSetup.CustomerPolicy && p.Roles is null) ? Access.Customer : Access.Unknown;
    }
}

/// <summary>What came back, with the checks both suites make on errors.</summary>
public sealed record Answer(HttpStatusCode Status, string? MediaType, JsonNode? Body, string Text)
{
    public int Code => (int)Status;

    /// <summary>Null when this is RFC 9457 problem details with this status and a trace id; otherwise what is wrong.</summary>
    public string? ProblemDefect()
    {
        if (MediaType != "application/problem+json")
        {
            return $"content type '{MediaType}' instead of application/problem+json";
        }

        if (Body is not JsonObject body)
        {
            return "a body that is not a JSON object";
        }

        if (body["status"] is not JsonValue status || !status.TryGetValue<int>(out var value) || value != Code)
        {
            return $"'status' {body["status"]?.ToJsonString() ?? "missing"} instead of {Code}";
        }

        return string.IsNullOrEmpty(body["traceId"]?.GetValue<string>()) ? "no 'traceId'" : null;
    }

    public string Brief => $"{Code} {Text[..Math.Min(Text.Length, 300)]}";

    public static async Task<Answer> SendAsync(HttpClient client, HttpMethod method, string pathAndQuery, HttpContent? content = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative)) { Content = content };
        if (method == HttpMethod.Post)
        {
            // Some POSTs require one (payments, refunds); for the rest it is harmless. Fresh per request, so nothing is replayed.
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        JsonNode? body = null;
        if (mediaType?.Contains("json", StringComparison.Ordinal) == true && text.Length > 0)
        {
            try
            {
                body = JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return new Answer(response.StatusCode, mediaType, body, text);
    }

    public static HttpContent Json(JsonNode body) => Raw(body.ToJsonString(), "application/json");

    public static HttpContent Raw(string text, string? mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        if (mediaType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        return content;
    }
}
