using System.Net.Http.Headers;
using System.Security.Cryptography;
using Billing.Functions.LocalHost;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Infrastructure;

/// <summary>
/// One private Azurite (disk mode, free ports, its own temporary folder) for the whole test run, and the real app on
/// top of it. Tests that need different settings create another <see cref="BillingApp"/> on the same Azurite.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "billing-tests-" + Guid.NewGuid().ToString("N"));
    private AzuriteProcess? azurite;
    private BillingApp? app;

    public AzuriteProcess Azurite => azurite ?? throw new InvalidOperationException("Not started.");

    /// <summary>The app with default test settings.</summary>
    public BillingApp App => app ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        azurite = await AzuriteProcess.StartAsync(dataDirectory);
        app = new BillingApp(Azurite.ConnectionString);
        await app.Admin().GetAsync(new Uri("/api/health", UriKind.Relative));
    }

    public async Task DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }

        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<AppFixture>
{
    public const string Name = "app";
}

/// <summary>The real app (every middleware, endpoint and adapter) in a test server, with known keys; <c>services</c> overrides registrations (e.g. a Stripe emulator).</summary>
public sealed class BillingApp(
    string storageConnectionString,
    IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? services = null) : WebApplicationFactory<Program>
{
    public string AdminKey { get; } = "sk_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Testing");
        builder.UseSetting("AzureWebJobsStorage", storageConnectionString);
        builder.UseSetting("Auth:ApiKeys:0:Id", "test-admin");
        builder.UseSetting("Auth:ApiKeys:0:Sha256", Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(AdminKey))));
        builder.UseSetting("Auth:CustomerTokenSigningKey", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        builder.UseSetting("Auth:RateLimitPerSecond", "10000");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("LocalHost:Enabled", "false");
        builder.UseSetting("TestClocks:Enabled", "true");
        builder.UseSetting("Notifications:AllowHttp", "true");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public HttpClient Admin() => WithBearer(AdminKey);

    public HttpClient Anonymous() => CreateClient();

    public HttpClient WithBearer(string credential)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return client;
    }
}
