using Billing.Benchmarks.Harness;
using Billing.Benchmarks.Scenarios;
using Billing.Functions.LocalHost;

// Usage: dotnet run -c Release --project tests/Billing.Benchmarks -- [pdf] [api] [coldstart] [renewal] [webhooks] [--quick] [--renewals N] [--out file.json]
var scenarios = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal) && !a.EndsWith(".json", StringComparison.Ordinal) && !int.TryParse(a, out _)).ToHashSet(StringComparer.OrdinalIgnoreCase);
var all = scenarios.Count == 0;
var quick = args.Contains("--quick");
var outIndex = Array.IndexOf(args, "--out");
var renewalsIndex = Array.IndexOf(args, "--renewals");
int? renewals = renewalsIndex >= 0 && renewalsIndex + 1 < args.Length ? int.Parse(args[renewalsIndex + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
var output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : Path.Combine("artifacts", "benchmarks.json");
var repoRoot = FindRepoRoot();
var machine = new Dictionary<string, string>
{
    ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    ["dotnet"] = Environment.Version.ToString(),
    ["storage"] = $"Azurite {AzuriteProcess.Version} (disk mode, fresh folder)",
    ["quick"] = quick.ToString(),
};
Console.WriteLine($"BillingFunctions benchmarks on {machine["cores"]} cores, {machine["os"]}{(quick ? " (quick)" : "")}");

var results = new Results();
if (all || scenarios.Contains("pdf"))
{
    PdfScenario.Run(results, quick);
}

// Every app process is the published package (Release, ReadyToRun), as deployed; PDF runs in this process.
using var published = all || scenarios.Overlaps(["api", "coldstart", "webhooks", "renewal"]) ? await PublishedApp.PublishAsync(repoRoot) : null;
var data = Path.Combine(Path.GetTempPath(), "billing-bench-azurite-" + Guid.NewGuid().ToString("N")[..8]);
await using (var azurite = await AzuriteProcess.StartAsync(data))
{
    if (all || scenarios.Contains("api"))
    {
        await using var app = AppProcess.Start(published!.Directory, azurite.ConnectionString, new Dictionary<string, string> { ["LocalHost__Enabled"] = "false" });
        await app.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        await ApiLatencyScenario.RunAsync(results, app, quick);
    }

    if (all || scenarios.Contains("coldstart"))
    {
        await ColdStartScenario.RunAsync(results, published!.Directory, azurite.ConnectionString, quick);
    }

    if (all || scenarios.Contains("webhooks"))
    {
        await WebhookIngestScenario.RunAsync(results, published!.Directory, azurite.ConnectionString, quick);
    }

    if (all || scenarios.Contains("renewal"))
    {
        await RenewalRunScenario.RunAsync(results, published!.Directory, azurite.ConnectionString, () => azurite.CpuTime, quick, renewals);
    }
}

Directory.Delete(data, recursive: true);
results.Print();
await results.WriteAsync(output, machine);
return results.Figures.Any(f => f.Met == false) ? 1 : 0;

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "BillingFunctions.sln")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
