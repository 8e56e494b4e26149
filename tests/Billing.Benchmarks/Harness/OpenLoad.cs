using System.Diagnostics;

namespace Billing.Benchmarks.Harness;

/// <summary>
/// Open-loop load: requests start on a fixed schedule (rate per second) whether or not earlier ones finished, and each
/// latency is measured from its scheduled start — so a slow server cannot hide its queueing (no coordinated omission).
/// </summary>
public static class OpenLoad
{
    public static async Task<(Latencies Latencies, int Errors, double AchievedRate)> RunAsync(double ratePerSecond, TimeSpan duration, Func<int, Task<bool>> request)
    {
        var latencies = new Latencies();
        var errors = 0;
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var inFlight = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds(i / ratePerSecond);
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = i;
            inFlight.Add(Task.Run(async () =>
            {
                bool ok;
                try
                {
                    ok = await request(index);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    ok = false;
                }

                latencies.Add((clock.Elapsed - scheduled).TotalMilliseconds);
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }));
        }

        await Task.WhenAll(inFlight);
        return (latencies, errors, total / clock.Elapsed.TotalSeconds);
    }
}
