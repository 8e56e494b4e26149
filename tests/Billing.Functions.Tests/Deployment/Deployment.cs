using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Billing.Functions.Tests.Deployment;

/// <summary>The repository's deployment files: infra/main.bicep compiled to ARM JSON, and what its app settings and storage lists hold.</summary>
public static partial class Deployment
{
    private static readonly Lazy<Task<JsonObject>> Compiled = new(CompileAsync);

    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>infra/main.bicep compiled by <c>bicep build --stdout</c> (once per test run).</summary>
    public static Task<JsonObject> MainTemplateAsync() => Compiled.Value;

    /// <summary>
    /// The app setting names the function app gets, normalized (<see cref="Normalize"/>): every quoted setting-like
    /// literal in the <c>appSettings</c> parameter of the function app module, with the variables it uses inlined, so
    /// generated names such as <c>format('Auth__ApiKeys__{0}__Id', i)</c> count as <c>Auth__ApiKeys__*__Id</c>.
    /// </summary>
    public static async Task<IReadOnlySet<string>> AppSettingNamesAsync()
    {
        var template = await MainTemplateAsync();
        var expression = (string)FunctionAppModule(template)["properties"]!["parameters"]!["appSettings"]!["value"]!;
        var variables = template["variables"]!.AsObject();
        for (var i = 0; i < 5; i++)
        {
            expression = VariableReference().Replace(expression, m => variables[m.Groups[1].Value] switch
            {
                JsonValue value when value.TryGetValue<string>(out var text) => text,
                { } node => node.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
                null => m.Value,
            });
        }

        return Literal().Matches(expression).Select(m => m.Groups[1].Value)
            .Where(name => name.Contains("__", StringComparison.Ordinal) || UpperSnake().IsMatch(name))
            .Select(Normalize)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The literal list variable (e.g. <c>storageQueues</c>) of main.bicep.</summary>
    public static async Task<IReadOnlyList<string>> ListVariableAsync(string name)
    {
        var template = await MainTemplateAsync();
        return [.. template["variables"]![name]!.AsArray().Select(n => (string)n!)];
    }

    public static JsonObject FunctionAppModule(JsonObject template) => Module(template, "functionapp");

    public static JsonObject Module(JsonObject template, string name) =>
        template["resources"]!.AsArray().Select(r => r!.AsObject()).Single(r => (string?)r["name"] == name);

    /// <summary><c>Auth:ApiKeys:0:Id</c> and <c>Auth__ApiKeys__{0}__Id</c> both become <c>Auth__ApiKeys__*__Id</c>.</summary>
    public static string Normalize(string key) =>
        string.Join("__", key.Replace(":", "__", StringComparison.Ordinal).Split("__")
            .Select(segment => IndexSegment().IsMatch(segment) ? "*" : segment));

    private static async Task<JsonObject> CompileAsync()
    {
        var bicep = typeof(Deployment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BicepPath")?.Value;
        var start = new ProcessStartInfo(string.IsNullOrEmpty(bicep) ? "bicep" : bicep)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "build", Path.Combine(RepositoryRoot, "infra", "main.bicep"), "--stdout" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "bicep build infra/main.bicep failed: " + await stderr);
        return JsonNode.Parse(stdout)!.AsObject();
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "BillingFunctions.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("BillingFunctions.sln not found above the test output folder.");
    }

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"'([A-Za-z][A-Za-z0-9_{}]*)'")]
    private static partial Regex Literal();

    [GeneratedRegex("^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")]
    private static partial Regex UpperSnake();

    [GeneratedRegex(@"^(\d+|\{\d+\})$")]
    private static partial Regex IndexSegment();
}
