using System.Text.Json;

namespace Billing.Functions.Hosting;

/// <summary>
/// Makes the app behave like a Functions custom handler: reads <c>local.settings.json</c> <c>Values</c> as configuration
/// when present (as the Functions host does locally; real environment variables still win), and listens on
/// <c>FUNCTIONS_CUSTOMHANDLER_PORT</c> on loopback when the host started it.
/// </summary>
public static class FunctionsHosting
{
    public static WebApplicationBuilder AddFunctionsHosting(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var path = Path.Combine(builder.Environment.ContentRootPath, "local.settings.json");
        if (File.Exists(path))
        {
            var values = ReadValues(path);
            var sources = builder.Configuration.Sources;
            var envIndex = sources.ToList().FindIndex(s => s is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource);
            var source = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = values };
            if (envIndex >= 0)
            {
                sources.Insert(envIndex, source);
            }
            else
            {
                sources.Add(source);
            }
        }

        if (Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT") is { Length: > 0 } port)
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        return builder;
    }

    /// <summary>The <c>Values</c> of a local.settings.json, with <c>__</c> turned into configuration's <c>:</c>.</summary>
    public static Dictionary<string, string?> ReadValues(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (document.RootElement.TryGetProperty("Values", out var section) && section.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in section.EnumerateObject())
            {
                values[property.Name.Replace("__", ":", StringComparison.Ordinal)] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }

        return values;
    }
}
