using Azure;
using Billing.Functions.Storage;

namespace Billing.Functions.Health;

/// <summary><c>GET /api/health</c> (no auth): 200 when storage answers, 503 problem details when it does not.</summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/health", async (StorageClients storage, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await foreach (var _ in storage.Table(TableNames.Billing).QueryAsync<Azure.Data.Tables.TableEntity>("PartitionKey eq 'health'", maxPerPage: 1, select: ["PartitionKey"], cancellationToken: timeout.Token))
                {
                    break;
                }

                return Results.Ok(new HealthResponse("healthy", "reachable", clock.GetUtcNow()));
            }
            catch (Exception e) when (e is RequestFailedException or OperationCanceledException or AggregateException)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unhealthy", detail: "Storage is not reachable.");
            }
        }).AllowAnonymous().WithTags("Health").WithSummary("Liveness and storage reachability");

        // The Functions host polls GET / until the custom handler answers.
        routes.MapGet("/", () => Results.Ok(new { name = "BillingFunctions", docs = "/api/docs", openapi = "/api/openapi.json" })).ExcludeFromDescription();
        return routes;
    }

    private sealed record HealthResponse(string Status, string Storage, DateTimeOffset Time);
}
