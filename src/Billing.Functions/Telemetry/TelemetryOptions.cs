namespace Billing.Functions.Telemetry;

/// <summary>
/// Where telemetry goes: Application Insights when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (the same setting
/// the Functions host uses), the console when <c>Telemetry__ConsoleExporter</c> is true (default: only in Development).
/// </summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    public const string ApplicationInsightsSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    public string? ApplicationInsightsConnectionString { get; set; }

    /// <summary>Write traces, metrics and logs to the console as well; unset = only in Development.</summary>
    public bool? ConsoleExporter { get; set; }

    public bool UsesApplicationInsights => !string.IsNullOrWhiteSpace(ApplicationInsightsConnectionString);

    /// <summary>Reads the two settings (the connection string is a top-level setting, not under <see cref="Section"/>).</summary>
    public static void Bind(TelemetryOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        options.ApplicationInsightsConnectionString = configuration[ApplicationInsightsSetting];
        options.ConsoleExporter = configuration.GetValue<bool?>($"{Section}:{nameof(ConsoleExporter)}");
    }
}
