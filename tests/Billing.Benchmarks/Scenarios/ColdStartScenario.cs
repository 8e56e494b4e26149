using System.Diagnostics;
using Billing.Benchmarks.Harness;

namespace Billing.Benchmarks.Scenarios;

/// <summary>The published app (Release, ReadyToRun where available): process start to first 200 on /api/health (target ≤ 1 s).</summary>
public static class ColdStartScenario
{
    public static async Task RunAsync(Results results, string repoRoot, string storage, bool quick)
    {
        var publish = Path.Combine(Path.GetTempPath(), "billing-bench-publish-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new ProcessStartInfo("dotnet", ["publish", Path.Combine(repoRoot, "src", "Billing.Functions"), "-c", "Release", "-o", publish, "--nologo", "-v", "quiet"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var process = Process.Start(psi)!)
        {
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException("dotnet publish failed: " + await process.StandardError.ReadToEndAsync());
            }
        }

        var runs = quick ? 3 : 7;
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            await using var app = AppProcess.Start(publish, storage, new Dictionary<string, string> { ["LocalHost__Enabled"] = "false" });
            times.Add((await app.WaitHealthyAsync(TimeSpan.FromSeconds(30))).TotalMilliseconds);
        }

        times.Sort();
        var median = times[times.Count / 2];
        results.Add("cold-start", $"process start → first 200 /api/health (median of {runs})", median, "ms", "≤ 1000", median <= 1000, $"min {times[0]:0} ms, max {times[^1]:0} ms");
        Directory.Delete(publish, recursive: true);
    }
}
