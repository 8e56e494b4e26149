namespace Billing.Functions.LocalHost;

public static class LocalHostRegistration
{
    /// <summary>The in-process trigger host used when no Functions host runs the app.</summary>
    public static IServiceCollection AddLocalTriggerHost(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LocalHostOptions>().Bind(configuration.GetSection(LocalHostOptions.Section));
        services.AddHttpClient(nameof(HttpFunctionInvoker));
        services.AddSingleton<IFunctionInvoker, HttpFunctionInvoker>();
        services.AddSingleton(new Storage.StorageResource(Storage.StorageResourceKind.Container, LocalTriggerHost.LockContainer));
        services.AddHostedService<LocalTriggerHost>();
        return services;
    }
}
