using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Billing.Functions.Auth;

namespace Billing.Functions.Storage;

/// <summary>A policy added to every Table, Blob and Queue client the app creates (registered in DI; tests use it to inject faults).</summary>
public sealed record StorageClientPolicy(HttpPipelinePolicy Policy, HttpPipelinePosition Position = HttpPipelinePosition.PerCall);

/// <summary>
/// Counts storage requests by service and kind (read = GET/HEAD, write = anything else). On with
/// <c>Storage__CountOperations=true</c> (benchmarks); the counts are then at <c>GET /api/diagnostics/storage-operations</c> (admins).
/// </summary>
public sealed class StorageOperationCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(counts, StringComparer.Ordinal);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message);
        return ProcessNextAsync(message, pipeline);
    }

    private void Count(HttpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var host = message.Request.Uri.Host ?? "";
        var port = message.Request.Uri.Port;
        var service = host.Contains(".table.", StringComparison.Ordinal) || port == 10002 ? "table"
            : host.Contains(".queue.", StringComparison.Ordinal) || port == 10001 ? "queue"
            : host.Contains(".blob.", StringComparison.Ordinal) || port == 10000 ? "blob"
            : "port" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var method = message.Request.Method;
        var kind = method == RequestMethod.Get || method == RequestMethod.Head ? "read" : "write";
        counts.AddOrUpdate(service + "." + kind, 1, (_, n) => n + 1);
        counts.AddOrUpdate("total", 1, (_, n) => n + 1);
    }
}

public static class StorageOperationsSetup
{
    public static IServiceCollection AddStorageOperationCounter(this IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetValue("Storage:CountOperations", false))
        {
            var counter = new StorageOperationCounter();
            services.AddSingleton(counter);
            services.AddSingleton(new StorageClientPolicy(counter, HttpPipelinePosition.PerRetry));
        }

        return services;
    }

    public static IEndpointRouteBuilder MapStorageOperations(this IEndpointRouteBuilder routes)
    {
        if (routes.ServiceProvider.GetService<StorageOperationCounter>() is { } counter)
        {
            routes.MapGet("/api/diagnostics/storage-operations", () => Results.Ok(counter.Snapshot()))
                .RequireAuthorization(AuthSetup.AdminPolicy).ExcludeFromDescription();
        }

        return routes;
    }
}
