using System.Diagnostics;
using Billing.Domain;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Storage;

namespace Billing.Functions.Audit;

/// <summary>One mutating API call: who (API key id or customer), what (method + route), on what, when, with which outcome.</summary>
public sealed record AuditEvent
{
    public const string IdPrefix = "aud";

    public required string Id { get; init; }

    public required string Actor { get; init; }

    public required string Action { get; init; }

    public string? Target { get; init; }

    public int Status { get; init; }

    public required string RequestId { get; init; }

    public DateTimeOffset Time { get; init; }
}

/// <summary>The audit trail in the <c>Audit</c> table, by UTC minute (<see cref="MinutePartitions"/>, newest first).</summary>
public sealed class AuditStore(StorageClients clients)
{
    private const int MaxDaysBack = 400;
    private const string Prefix = "audit|";
    private readonly JsonTable table = new(clients.Table(TableNames.Audit));

    public Task AppendAsync(AuditEvent entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return table.InsertAsync(MinutePartitions.Of(Prefix, entry.Id), Keys.Descending(entry.Id), entry, cancellationToken: cancellationToken);
    }

    public Task<ListPage<AuditEvent>> ListAsync(int limit, string? startingAfter, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        MinutePartitions.ListNewestFirstAsync<AuditEvent>(table, Prefix, AuditEvent.IdPrefix, limit, startingAfter, null, now.AddDays(-MaxDaysBack), cancellationToken);
}

/// <summary>
/// Records every authenticated POST, PATCH, PUT and DELETE after it has answered, whatever the outcome. It runs first
/// in the pipeline so the status it records is the one the client got (after exceptions became problem details).
/// </summary>
public sealed partial class AuditMiddleware(RequestDelegate next, ILogger<AuditMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context, AuditStore store, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(clock);
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            if (context.User.Actor() is { } actor)
            {
                var now = clock.GetUtcNow();
                // After an exception the handler re-runs the pipeline without the endpoint: take it from the exception feature.
                var failed = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>();
                var endpoint = (failed?.Endpoint ?? context.GetEndpoint()) as RouteEndpoint;
                var routeValues = failed?.RouteValues ?? context.Request.RouteValues;
                var route = (endpoint?.RoutePattern.RawText ?? context.Request.Path.Value ?? "").TrimEnd('/');
                var created = context.Response.Headers.Location.ToString();
                var entry = new AuditEvent
                {
                    Id = Ids.New(AuditEvent.IdPrefix, now),
                    Actor = actor,
                    Action = $"{method} {route}",
                    Target = routeValues.TryGetValue("id", out var id) ? id?.ToString() : created.Length > 0 ? created[(created.LastIndexOf('/') + 1)..] : null,
                    Status = context.Response.StatusCode,
                    RequestId = Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier,
                    Time = now,
                };
                try
                {
                    await store.AppendAsync(entry, CancellationToken.None);
                }
                catch (Azure.RequestFailedException e)
                {
                    LogAuditFailed(logger, e, entry.Action, entry.RequestId);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record audit event for {Action} (request {RequestId})")]
    private static partial void LogAuditFailed(ILogger logger, Exception exception, string action, string requestId);
}

/// <summary><c>GET /api/audit-events</c>: the audit trail, newest first, admins only.</summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/audit-events", async (HttpRequest request, AuditStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, AuditEvent.IdPrefix, errors);
            errors.ThrowIfAny();
            var page = await store.ListAsync(paging.Limit, paging.StartingAfter, clock.GetUtcNow(), cancellationToken);
            return TypedResults.Ok(new ListResponse<AuditEvent>(page.Data, page.HasMore, "/api/audit-events"));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithTags("Audit").WithSummary("List the audit trail of mutating calls");
        return routes;
    }
}
