using System.Globalization;
using System.Text.Json;

namespace Billing.Functions.Triggers;

/// <summary>One function as its <c>function.json</c> declares it.</summary>
public sealed record FunctionDefinition(string Name, string TriggerType, string? Route, IReadOnlyList<string> Methods, string? QueueName, string? Schedule, string? AuthLevel);

/// <summary>
/// The queue settings of <c>host.json</c> that LocalHost honours like the host's queue extension: up to
/// <see cref="BatchSize"/> messages are fetched at once and run concurrently, and another batch is fetched as soon as
/// no more than <see cref="NewBatchThreshold"/> are still running (so at most batch size + threshold run at once).
/// </summary>
public sealed record QueueHostSettings(int MaxDequeueCount, TimeSpan VisibilityTimeout, int BatchSize, TimeSpan MaxPollingInterval, int NewBatchThreshold = 8);

/// <summary>Reads <c>host.json</c> and every <c>{FunctionName}/function.json</c> of a function-app root (the build output).</summary>
public static class FunctionManifest
{
    public static IReadOnlyList<FunctionDefinition> ReadFunctions(string root)
    {
        var functions = new List<FunctionDefinition>();
        foreach (var file in Directory.EnumerateFiles(root, "function.json", SearchOption.AllDirectories))
        {
            if (Path.GetDirectoryName(Path.GetDirectoryName(file)) != Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar))
            {
                continue; // only <root>/<FunctionName>/function.json
            }

            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var trigger = document.RootElement.GetProperty("bindings").EnumerateArray()
                .First(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            functions.Add(new FunctionDefinition(
                Path.GetFileName(Path.GetDirectoryName(file)!),
                trigger.GetProperty("type").GetString()!,
                Text(trigger, "route"),
                trigger.TryGetProperty("methods", out var methods) ? [.. methods.EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant())] : [],
                Text(trigger, "queueName"),
                Text(trigger, "schedule"),
                Text(trigger, "authLevel")));
        }

        return [.. functions.OrderBy(f => f.Name, StringComparer.Ordinal)];
    }

    public static QueueHostSettings ReadQueueSettings(string root)
    {
        var defaults = new QueueHostSettings(5, TimeSpan.Zero, 16, TimeSpan.FromSeconds(2), 8);
        var path = Path.Combine(root, "host.json");
        if (!File.Exists(path))
        {
            return defaults;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (!document.RootElement.TryGetProperty("extensions", out var extensions) || !extensions.TryGetProperty("queues", out var queues))
        {
            return defaults;
        }

        return new QueueHostSettings(
            queues.TryGetProperty("maxDequeueCount", out var max) ? max.GetInt32() : defaults.MaxDequeueCount,
            Text(queues, "visibilityTimeout") is { } visibility ? TimeSpan.Parse(visibility, CultureInfo.InvariantCulture) : defaults.VisibilityTimeout,
            queues.TryGetProperty("batchSize", out var batch) ? batch.GetInt32() : defaults.BatchSize,
            Text(queues, "maxPollingInterval") is { } polling ? TimeSpan.Parse(polling, CultureInfo.InvariantCulture) : defaults.MaxPollingInterval,
            queues.TryGetProperty("newBatchThreshold", out var threshold) ? threshold.GetInt32() : (queues.TryGetProperty("batchSize", out var size) ? size.GetInt32() / 2 : defaults.NewBatchThreshold));
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
