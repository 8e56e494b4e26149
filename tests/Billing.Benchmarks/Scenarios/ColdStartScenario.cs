using Billing.Benchmarks.Harness;

namespace Billing.Benchmarks.Scenarios;

/// <summary>The published app (Release, ReadyToRun where available): process start to first 200 on /api/health (target ≤ 1 s).</summary>
public static class ColdStartScenario
{
    public static async Task RunAsync(Results results, string publish, string storage, bool quick)
    {
        // As in Azure: the storage account is provisioned (here by one uncounted start that creates every table, queue
        // and container), the app is told not to create them (Storage__CreateResources=false, set by the Bicep), and a
        // Stripe key is configured (never called by /api/health) instead of the in-process emulator.
        await using (var provisioning = AppProcess.Start(publish, storage, new Dictionary<string, string> { ["LocalHost__Enabled"] = "false" }))
        {
            await provisioning.WaitHealthyAsync(TimeSpan.FromSeconds(30));
        }

        var runs = quick ? 3 : 7;
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            await using var app = AppProcess.Start(publish, storage, new Dictionary<string, string>
            {
                ["LocalHost__Enabled"] = "false",
                ["Storage__CreateResources"] = "false",
                ["Stripe__SecretKey"] = "sk_test_cold_start_unused",
                ["Stripe__WebhookSecrets__0"] = "whsec_cold_start_unused",
            });
            times.Add((await app.WaitHealthyAsync(TimeSpan.FromSeconds(30))).TotalMilliseconds);
        }

        times.Sort();
        var median = times[times.Count / 2];
        results.Add("cold-start", $"process start → first 200 /api/health (median of {runs})", median, "ms", "≤ 1000", median <= 1000, $"min {times[0]:0} ms, max {times[^1]:0} ms");
    }
}
