using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Billing.Functions.LocalHost;

namespace Billing.Benchmarks.Harness;

/// <summary>
/// The real app as its own process (<c>dotnet Billing.Functions.dll</c>), on a free loopback port, against a given storage
/// account, with a known admin key — the way the Functions host or <c>dotnet run</c> would start it.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process process;
    private bool stopped;

    private AppProcess(Process process, Uri baseAddress, string adminKey)
    {
        this.process = process;
        BaseAddress = baseAddress;
        AdminKey = adminKey;
    }

    public Uri BaseAddress { get; }

    public string AdminKey { get; }

    public int ProcessId => process.Id;

    /// <summary>Starts the app from <paramref name="appDirectory"/> and returns once it listens (not once healthy).</summary>
    public static AppProcess Start(string appDirectory, string storageConnectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = AzuriteProcess.FreePort();
        var adminKey = "sk_test_bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = appDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(appDirectory, "Billing.Functions.dll"));
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Benchmark";
        start.Environment["AzureWebJobsStorage"] = storageConnectionString;
        start.Environment["Auth__ApiKeys__0__Id"] = "bench";
        start.Environment["Auth__ApiKeys__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(adminKey)));
        start.Environment["Auth__CustomerTokenSigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        start.Environment["Auth__RateLimitPerSecond"] = "100000";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // BENCH_APP_X=Y in the harness's environment sets X=Y in the app's (e.g. BENCH_APP_DOTNET_TieredPGO=1 to compare a runtime knob).
        foreach (var entry in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Where(e => ((string)e.Key).StartsWith("BENCH_APP_", StringComparison.Ordinal)))
        {
            start.Environment[((string)entry.Key)["BENCH_APP_".Length..]] = (string?)entry.Value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the app.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, e) =>
        {
            if (e.Data is { Length: > 0 })
            {
                Console.Error.WriteLine("  app: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new AppProcess(process, new Uri($"http://127.0.0.1:{port}"), adminKey);
    }

    /// <summary>Polls <c>/api/health</c> until it answers 200; returns the time from process start to that answer.</summary>
    public async Task<TimeSpan> WaitHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The app exited with code {process.ExitCode}.");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return DateTime.Now - process.StartTime;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("The app did not become healthy.");
    }

    public HttpClient Client(int maxConnections = 256)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    /// <summary>
    /// POSTs with an Idempotency-Key and retries a dropped connection, a timeout and a 409 (the first try still in
    /// flight) with the same key, so a retry cannot create twice; returns the created object's id. Any other failure
    /// throws with the status and the problem details.
    /// </summary>
    public static async Task<string> PostForIdAsync(HttpClient client, string path, object body)
    {
        var key = Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && attempt < 5)
            {
                await Task.Delay(200 * attempt);
                continue;
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
                }

                if (response.StatusCode != HttpStatusCode.Conflict || attempt >= 5)
                {
                    throw new HttpRequestException($"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }

            await Task.Delay(1000 * attempt);
        }
    }

    /// <summary>Current resident set size of the app process (VmRSS), in MB.</summary>
    public double RssMegabytes() => Status("VmRSS:");

    /// <summary>Peak resident set size of the app process so far (VmHWM), in MB.</summary>
    public double PeakRssMegabytes() => Status("VmHWM:");

    private double Status(string field)
    {
        var line = File.ReadAllLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>Ends the app (its memory figures are gone after this); disposing later is still fine.</summary>
    public async Task StopAsync()
    {
        if (!stopped)
        {
            stopped = true;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process.Dispose();
    }
}
