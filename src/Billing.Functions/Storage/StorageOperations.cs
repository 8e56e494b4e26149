using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Billing.Functions.Auth;

namespace Billing.Functions.Storage;

/// <summary>
/// A policy added to every Table, Blob and Queue client the app creates (registered in DI; tests use it to inject
/// faults), or only to one service's clients when <see cref="Service"/> is set.
/// </summary>
public sealed record StorageClientPolicy(HttpPipelinePolicy Policy, HttpPipelinePosition Position = HttpPipelinePosition.PerCall, StorageService? Service = null);

/// <summary>The three storage services.</summary>
public enum StorageService
{
    Table,
    Blob,
    Queue,
}

/// <summary>
/// Counts storage requests by service and kind (<c>table.read</c> = GET/HEAD, <c>table.write</c> = anything else, …)
/// and, under <c>detail/</c>, by method, table/queue/container and, for table point operations, the row kind (the row
/// key up to its first <c>|</c> or <c>_</c>; <c>time</c> for time keys) — enough to see where a workload's operations go. On with
/// <c>Storage__CountOperations=true</c> (benchmarks); the counts are then at <c>GET /api/diagnostics/storage-operations</c> (admins).
/// </summary>
public sealed class StorageOperationCounter
{
    private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(counts, StringComparer.Ordinal);

    /// <summary>The pipeline policy counting one service's requests.</summary>
    public HttpPipelinePolicy For(StorageService service) => new ServicePolicy(this, service);

    private void Count(StorageService service, HttpMessage message)
    {
        var method = message.Request.Method;
        var name = service.ToString().ToLowerInvariant();
        var kind = method == RequestMethod.Get || method == RequestMethod.Head ? "read" : "write";
        Add(name + "." + kind);
        Add("total");
        Add($"detail/{name}.{method.Method}.{Target(service, message.Request.Uri.Path)}");
    }

    private void Add(string key) => counts.AddOrUpdate(key, 1, (_, n) => n + 1);

    /// <summary><c>Billing(point:sub)</c>, <c>Billing(query)</c>, <c>$batch</c>, <c>work-items</c>, <c>invoices</c>, …</summary>
    private static string Target(StorageService service, string path)
    {
        var segments = Uri.UnescapeDataString(path).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var resource = segments.Length > 1 ? segments[1] : segments.Length == 1 ? segments[0] : "";
        if (service != StorageService.Table)
        {
            return resource;
        }

        var open = resource.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || resource.EndsWith("()", StringComparison.Ordinal))
        {
            return resource.TrimEnd('(', ')') + (open < 0 ? "" : "(query)");
        }

        var row = resource.IndexOf("RowKey='", StringComparison.Ordinal);
        var rowKind = row < 0 ? "" : resource[(row + 8)..].Split('|', '_', '\'', ')')[0];
        return resource[..open] + "(point:" + (rowKind.All(char.IsAsciiDigit) ? "time" : rowKind) + ")";
    }

    private sealed class ServicePolicy(StorageOperationCounter counter, StorageService service) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            counter.Count(service, message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            counter.Count(service, message);
            return ProcessNextAsync(message, pipeline);
        }
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
            foreach (var service in Enum.GetValues<StorageService>())
            {
                services.AddSingleton(new StorageClientPolicy(counter.For(service), HttpPipelinePosition.PerRetry, service));
            }
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
