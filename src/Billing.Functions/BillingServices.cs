using Billing.Domain.Catalog;
using Billing.Domain.Customers;
using Billing.Functions.Audit;
using Billing.Functions.Idempotency;
using Billing.Functions.Storage;

namespace Billing.Functions;

/// <summary>Registers storage and the stores of each area.</summary>
public static class BillingServices
{
    public static IServiceCollection AddBillingStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Configure(options => StorageOptions.Bind(options, configuration)).ValidateDataAnnotations()
            .Validate(o => o.UsesConnectionString || o.TableServiceUri is not null, "Set AzureWebJobsStorage (connection string) or AzureWebJobsStorage__accountName / service URIs.")
            .ValidateOnStart();
        services.AddSingleton<StorageClients>();
        services.AddSingleton<BlobSasFactory>();
        services.AddHostedService<StorageInitializer>();
        services.AddSingleton(TimeProvider.System);
        foreach (var table in new[] { TableNames.Billing, TableNames.Idempotency, TableNames.Audit })
        {
            services.AddSingleton(new StorageResource(StorageResourceKind.Table, table));
        }

        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<AuditStore>();
        return services;
    }

    public static IServiceCollection AddCustomersAndCatalog(this IServiceCollection services)
    {
        services.AddSingleton<ICustomerStore, TableCustomerStore>();
        services.AddSingleton<ICatalogStore, TableCatalogStore>();
        return services;
    }
}
