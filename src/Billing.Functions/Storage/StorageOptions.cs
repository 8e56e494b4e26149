using System.ComponentModel.DataAnnotations;

namespace Billing.Functions.Storage;

/// <summary>
/// Where state lives. Locally and in tests a connection string (<c>AzureWebJobsStorage</c>, e.g.
/// <c>UseDevelopmentStorage=true</c>); in Azure the same setting's identity form
/// (<c>AzureWebJobsStorage__accountName</c> or the three service URIs) with a managed identity.
/// </summary>
public sealed class StorageOptions
{
    /// <summary>Connection string; empty when the identity-based settings are used.</summary>
    public string? ConnectionString { get; set; }

    public string? AccountName { get; set; }

    public Uri? BlobServiceUri { get; set; }

    public Uri? QueueServiceUri { get; set; }

    public Uri? TableServiceUri { get; set; }

    /// <summary>Client id of the user-assigned managed identity (Azure only).</summary>
    public string? ClientId { get; set; }

    /// <summary>Prefix for table, queue and container names, so several deployments (or test runs) can share an account.</summary>
    [RegularExpression("^[a-z]{0,12}$")]
    public string NamePrefix { get; set; } = "";

    /// <summary>
    /// Create every table, queue and container at start-up when missing (default). The Bicep creates them in Azure and
    /// sets this to false there: one create-if-missing call per resource costs start-up time on every cold start.
    /// </summary>
    public bool CreateResources { get; set; } = true;

    public bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>Binds the Functions host's storage setting shapes onto options.</summary>
    public static void Bind(StorageOptions options, IConfiguration configuration)
    {
        var section = configuration.GetSection("AzureWebJobsStorage");
        options.ConnectionString = section.Value;
        options.AccountName = section["accountName"];
        options.BlobServiceUri = Uri(section["blobServiceUri"]) ?? Derived(options.AccountName, "blob");
        options.QueueServiceUri = Uri(section["queueServiceUri"]) ?? Derived(options.AccountName, "queue");
        options.TableServiceUri = Uri(section["tableServiceUri"]) ?? Derived(options.AccountName, "table");
        options.ClientId = section["clientId"];
        options.NamePrefix = configuration["Storage:NamePrefix"] ?? "";
        options.CreateResources = !bool.TryParse(configuration["Storage:CreateResources"], out var create) || create;
    }

    private static Uri? Uri(string? value) => string.IsNullOrWhiteSpace(value) ? null : new Uri(value);

    private static Uri? Derived(string? account, string service) =>
        string.IsNullOrWhiteSpace(account) ? null : new Uri($"https://{account}.{service}.core.windows.net");
}
