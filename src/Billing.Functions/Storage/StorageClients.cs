using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Storage;

/// <summary>One place that knows how to reach the storage account: connection string locally, managed identity in Azure.</summary>
public sealed class StorageClients
{
    public StorageClients(IOptions<StorageOptions> options, IEnumerable<StorageClientPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policies);
        var o = options.Value;
        Prefix = o.NamePrefix;
        var tableOptions = WithPolicies(new TableClientOptions(), policies, StorageService.Table);
        var blobOptions = WithPolicies(new BlobClientOptions(), policies, StorageService.Blob);
        var queueOptions = WithPolicies(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }, policies, StorageService.Queue);
        if (o.UsesConnectionString)
        {
            Tables = new TableServiceClient(o.ConnectionString, tableOptions);
            Blobs = new BlobServiceClient(o.ConnectionString, blobOptions);
            Queues = new QueueServiceClient(o.ConnectionString, queueOptions);
        }
        else
        {
            TokenCredential credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = o.ClientId });
            Tables = new TableServiceClient(o.TableServiceUri, credential, tableOptions);
            Blobs = new BlobServiceClient(o.BlobServiceUri, credential, blobOptions);
            Queues = new QueueServiceClient(o.QueueServiceUri, credential, queueOptions);
        }
    }

    private static T WithPolicies<T>(T clientOptions, IEnumerable<StorageClientPolicy> policies, StorageService service)
        where T : ClientOptions
    {
        foreach (var policy in policies.Where(p => p.Service is null || p.Service == service))
        {
            clientOptions.AddPolicy(policy.Policy, policy.Position);
        }

        return clientOptions;
    }

    public string Prefix { get; }

    public TableServiceClient Tables { get; }

    public BlobServiceClient Blobs { get; }

    public QueueServiceClient Queues { get; }

    public TableClient Table(string name) => Tables.GetTableClient(Prefix + name);

    public BlobContainerClient Container(string name) => Blobs.GetBlobContainerClient(Prefix + name);

    public QueueClient Queue(string name) => Queues.GetQueueClient(Prefix + name);
}

/// <summary>A table, queue or blob container the app needs; each feature registers its own, and start-up creates them.</summary>
public sealed record StorageResource(StorageResourceKind Kind, string Name);

public enum StorageResourceKind
{
    Table,
    Queue,
    Container,
}

/// <summary>The tables the foundation uses.</summary>
public static class TableNames
{
    /// <summary>Customer-owned rows (partition = customer id) and the catalog (partition <c>catalog</c>).</summary>
    public const string Billing = "Billing";

    /// <summary>Stored responses of idempotent POSTs (partition = API key id + key).</summary>
    public const string Idempotency = "Idempotency";

    /// <summary>The audit trail of mutating calls (partition = UTC day).</summary>
    public const string Audit = "Audit";
}

/// <summary>
/// Creates every registered table, queue and container at start-up (no-ops when they exist), unless
/// <c>Storage:CreateResources</c> is false (Azure, where the Bicep creates them).
/// </summary>
public sealed partial class StorageInitializer(StorageClients clients, IEnumerable<StorageResource> resources, IOptions<StorageOptions> options, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.CreateResources)
        {
            return;
        }

        var work = resources.Distinct().Select(resource => resource.Kind switch
        {
            StorageResourceKind.Table => clients.Table(resource.Name).CreateIfNotExistsAsync(cancellationToken),
            StorageResourceKind.Queue => (Task)clients.Queue(resource.Name).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            _ => clients.Container(resource.Name).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
        });
        await Task.WhenAll(work);
        LogReady(logger, resources.Count());
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ready: {Count} tables, queues and containers")]
    private static partial void LogReady(ILogger logger, int count);
}
