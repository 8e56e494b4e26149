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
/// key up to its first <c>|</c> or <c>_</c>; <c>time</c> for time keys) — enough to see where a workload's operations go —
/// with the bytes sent (<c>sent/…</c>) and received (<c>received/…</c>) under the same names, and for entity-group
/// transactions the entities they carried (<c>entities/…</c>), so a benchmark can replay the same operations at the
/// same sizes. On with <c>Storage__CountOperations=true</c> (benchmarks); the counts are then at
/// <c>GET /api/diagnostics/storage-operations</c> (admins).
/// </summary>
public sealed class StorageOperationCounter
{
    private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(counts, StringComparer.Ordinal);

    /// <summary>The pipeline policy counting one service's requests.</summary>
    public HttpPipelinePolicy For(StorageService service) => new ServicePolicy(this, service);

    private string Count(StorageService service, HttpMessage message)
    {
        var method = message.Request.Method;
        var name = service.ToString().ToLowerInvariant();
        var kind = method == RequestMethod.Get || method == RequestMethod.Head ? "read" : "write";
        Add(name + "." + kind);
        Add("total");
        var detail = $"{name}.{method.Method}.{Target(service, message.Request.Uri.Path)}";
        Add("detail/" + detail);
        if (message.Request.Content is { } content)
        {
            if (detail.EndsWith("$batch", StringComparison.Ordinal))
            {
                using var body = new MemoryStream();
                content.WriteTo(body, CancellationToken.None); // the batch body is built in memory; writing it again is cheap
                Add("sent/" + detail, body.Length);
                Add("entities/" + detail, Occurrences(body.GetBuffer().AsSpan(0, (int)body.Length), "Content-Type: application/http"u8));
            }
            else if (content.TryComputeLength(out var length))
            {
                Add("sent/" + detail, length);
            }
        }

        return detail;
    }

    private void Received(string detail, HttpMessage message)
    {
        if (message.HasResponse && message.Response.ContentStream is MemoryStream buffered)
        {
            Add("received/" + detail, buffered.Length);
        }
    }

    private void Add(string key, long by = 1) => counts.AddOrUpdate(key, by, (_, n) => n + by);

    private static int Occurrences(ReadOnlySpan<byte> text, ReadOnlySpan<byte> part)
    {
        var n = 0;
        for (var at = text.IndexOf(part); at >= 0; at = text.IndexOf(part))
        {
            n++;
            text = text[(at + part.Length)..];
        }

        return n;
    }

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
            var detail = counter.Count(service, message);
            ProcessNext(message, pipeline);
            counter.Received(detail, message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var detail = counter.Count(service, message);
            await ProcessNextAsync(message, pipeline);
            counter.Received(detail, message);
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
