namespace Billing.Functions.LocalHost;

/// <summary>
/// For <c>dotnet run</c>: when storage is <c>UseDevelopmentStorage=true</c> and nothing listens on Azurite's default
/// ports, starts Azurite (data under <c>.azurite/</c> in the project folder, git-ignored) and stops it on exit.
/// Without Node.js it explains and exits non-zero.
/// </summary>
public static class LocalStorage
{
    public static async Task<AzuriteProcess?> StartAzuriteIfNeededAsync(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var connection = builder.Configuration["AzureWebJobsStorage"];
        if (!string.Equals(connection?.Trim().TrimEnd(';'), "UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase) ||
            AzuriteProcess.IsListening(10002))
        {
            return null;
        }

        try
        {
            Console.WriteLine($"Starting Azurite {AzuriteProcess.Version} on 127.0.0.1:10000-10002 (first run installs it with npm)...");
            return await AzuriteProcess.StartAsync(Path.Combine(builder.Environment.ContentRootPath, ".azurite"), 10000, 10001, 10002);
        }
        catch (AzuriteUnavailableException e)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message);
            Environment.Exit(2);
            return null;
        }
    }
}
