using System.Diagnostics;

namespace Billing.Benchmarks.Harness;

/// <summary>
/// The app as Azure runs it: <c>dotnet publish -c Release</c> of <c>src/Billing.Functions</c> (linux-x64,
/// ReadyToRun, what azd deploys), published once per harness run into a temporary folder that is deleted at the end.
/// Every scenario that starts the app starts this build, so its start-up, speed and memory are the deployed package's,
/// not a JIT-only development build's.
/// </summary>
public sealed class PublishedApp : IDisposable
{
    private PublishedApp(string directory) => Directory = directory;

    public string Directory { get; }

    public static async Task<PublishedApp> PublishAsync(string repoRoot)
    {
        var directory = Path.Combine(Path.GetTempPath(), "billing-bench-publish-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new ProcessStartInfo("dotnet", ["publish", Path.Combine(repoRoot, "src", "Billing.Functions"), "-c", "Release", "-o", directory, "--nologo", "-v", "quiet"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("dotnet publish failed: " + await output + await error);
        }

        return new PublishedApp(directory);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
