using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Billing.Functions.LocalHost;

/// <summary>
/// Runs Azurite (the storage emulator, from npm, pinned to <see cref="Version"/> — the last that runs on Node 20) as a
/// child process on loopback, in disk mode with its own data folder. Installs it on first use under the user's local
/// application data folder. Used by <c>dotnet run</c> when nothing listens on the storage ports, and by the tests
/// (a private instance on free ports).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    public const string Version = "3.35.0";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process process;

    private AzuriteProcess(Process process, int blobPort, int queuePort, int tablePort)
    {
        this.process = process;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>The CPU time Azurite's process has used so far (it serves all three services on one Node.js thread).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <summary>True when something accepts connections on <paramref name="port"/> at 127.0.0.1.</summary>
    public static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync(IPAddress.Loopback, port).Wait(TimeSpan.FromMilliseconds(300)) && client.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A free TCP port on loopback.</summary>
    public static int FreePort() => FreePorts(1)[0];

    /// <summary><paramref name="count"/> distinct free TCP ports on loopback.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary>
    /// Starts Azurite with data in <paramref name="dataDirectory"/>; ports 0 mean "pick free ones". Throws
    /// <see cref="AzuriteUnavailableException"/> with a plain explanation when Node.js is missing or Azurite cannot start.
    /// <paramref name="inMemory"/> keeps the data in memory only (<c>--inMemoryPersistence</c>): in disk mode Azurite
    /// saves its whole table database as one JSON file every 5 seconds, which stalls it for seconds once hundreds of
    /// megabytes are stored.
    /// </summary>
    public static async Task<AzuriteProcess> StartAsync(string dataDirectory, int blobPort = 0, int queuePort = 0, int tablePort = 0, bool inMemory = false,
        CancellationToken cancellationToken = default)
    {
        var script = await EnsureInstalledAsync(cancellationToken);
        Directory.CreateDirectory(dataDirectory);
        var free = FreePorts(3); // held open together, so the three are distinct (one at a time, the OS may hand out the same port twice)
        blobPort = blobPort == 0 ? free[0] : blobPort;
        queuePort = queuePort == 0 ? free[1] : queuePort;
        tablePort = tablePort == 0 ? free[2] : tablePort;
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            script, "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Azurite refuses --location together with --inMemoryPersistence; in memory, its working folder is the data folder.
        if (inMemory)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
            start.WorkingDirectory = dataDirectory;
        }
        else
        {
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(dataDirectory);
        }

        var process = Process.Start(start) ?? throw new AzuriteUnavailableException("Could not start Azurite.");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>(); // start-up output, for the error below
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is { Length: > 0 } line && output.Count < 20)
            {
                output.Enqueue(line);
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new AzuriteProcess(process, blobPort, queuePort, tablePort);
        var deadline = Stopwatch.StartNew();
        while (!(IsListening(blobPort) && IsListening(queuePort) && IsListening(tablePort)))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                await azurite.DisposeAsync();
                throw new AzuriteUnavailableException(
                    $"Azurite did not start listening on ports {blobPort}/{queuePort}/{tablePort}." + (output.IsEmpty ? "" : " It said: " + string.Join(" ", output)));
            }

            await Task.Delay(100, cancellationToken);
        }

        return azurite;
    }

    /// <summary>Installs the pinned Azurite with npm once (a file lock keeps parallel test runs from racing) and returns its entry script.</summary>
    public static async Task<string> EnsureInstalledAsync(CancellationToken cancellationToken = default)
    {
        var root = Environment.GetEnvironmentVariable("BILLING_AZURITE_HOME") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "BillingFunctions", "azurite-" + Version);
        var script = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (File.Exists(script))
        {
            return script;
        }

        EnsureNode();
        Directory.CreateDirectory(root);
        await using var gate = await AcquireLockAsync(Path.Combine(root, ".install.lock"), cancellationToken);
        if (File.Exists(script))
        {
            return script;
        }

        var npm = new ProcessStartInfo("npm") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", root, "azurite@" + Version })
        {
            npm.ArgumentList.Add(argument);
        }

        using var install = Run(npm, "npm (comes with Node.js)");
        var stderr = install.StandardError.ReadToEndAsync(cancellationToken);
        await install.StandardOutput.ReadToEndAsync(cancellationToken);
        await install.WaitForExitAsync(cancellationToken);
        if (install.ExitCode != 0 || !File.Exists(script))
        {
            throw new AzuriteUnavailableException($"Installing azurite@{Version} with npm failed: {(await stderr).Trim()}");
        }

        return script;
    }

    private static void EnsureNode()
    {
        using var node = Run(new ProcessStartInfo("node", "--version") { UseShellExecute = false, RedirectStandardOutput = true }, "Node.js");
        node.WaitForExit(10_000);
    }

    private static Process Run(ProcessStartInfo start, string what)
    {
        try
        {
            return Process.Start(start) ?? throw new AzuriteUnavailableException($"Could not start {what}.");
        }
        catch (Win32Exception)
        {
            throw new AzuriteUnavailableException(
                $"{what} was not found on PATH. Local storage runs on Azurite, which needs Node.js 20 or later: install Node.js " +
                "(https://nodejs.org) or point AzureWebJobsStorage at a storage account or an Azurite you run yourself.");
        }
    }

    private static async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Win32Exception)
        {
        }

        process.Dispose();
    }
}

/// <summary>Azurite could not be installed or started; the message says why in plain words.</summary>
public sealed class AzuriteUnavailableException(string message) : Exception(message);
