using System.Diagnostics;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Billing.Functions.Telemetry;

/// <summary>
/// OpenTelemetry traces, metrics and logs for the app: ASP.NET Core and HttpClient (so Stripe calls are child spans of
/// the request), the <c>Billing</c> activity source and meter. Exported to Application Insights when
/// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set, to the console when asked (default in Development only).
/// </summary>
public static class BillingTelemetry
{
    public const string ServiceName = "BillingFunctions";

    public static readonly ActivitySource ActivitySource = new("Billing");

    public static IServiceCollection AddBillingTelemetry(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new TelemetryOptions();
        TelemetryOptions.Bind(options, configuration);
        services.AddOptions<TelemetryOptions>().Configure(o => TelemetryOptions.Bind(o, configuration));
        services.AddSingleton<BillingMetrics>();

        var console = options.ConsoleExporter ?? environment.IsDevelopment();
        var connectionString = options.ApplicationInsightsConnectionString;
        var appInsights = options.UsesApplicationInsights;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceVersion: typeof(BillingTelemetry).Assembly.GetName().Version?.ToString()))
            .WithTracing(tracing =>
            {
                tracing.AddSource(ActivitySource.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != "/") // the host's readiness pings
                    .AddHttpClientInstrumentation();
                if (appInsights)
                {
                    tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = connectionString);
                }

                if (console)
                {
                    tracing.AddConsoleExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(BillingMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (appInsights)
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = connectionString);
                }

                if (console)
                {
                    metrics.AddConsoleExporter();
                }
            });

        if (appInsights || console)
        {
            // Log messages are templates with ids as parameters; payloads, card data and secrets are never logged.
            services.AddLogging(logging => logging.AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
                if (appInsights)
                {
                    o.AddAzureMonitorLogExporter(e => e.ConnectionString = connectionString);
                }

                if (console)
                {
                    o.AddConsoleExporter();
                }
            }));
        }

        return services;
    }
}
