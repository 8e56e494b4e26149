using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;

namespace Billing.Functions.Http;

/// <summary>
/// The API's wire conventions: snake_case JSON (like Stripe's), enums as snake_case strings, unknown request fields
/// rejected, RFC 9457 problem details with a <c>traceId</c> for every error, and a request body size limit.
/// </summary>
public static class HttpConventions
{
    public static IServiceCollection AddHttpConventions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HttpOptions>().Bind(configuration.GetSection(HttpOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.Configure<JsonOptions>(options => Configure(options.SerializerOptions));
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // The framework adds the trace id under "traceId"; the snake_case policy would also write it as "trace_id".
            context.ProblemDetails.Extensions.Remove("trace_id");
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        return services;
    }

    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
    }

    /// <summary>Problem details for every error, a size limit on every request body.</summary>
    public static WebApplication UseHttpConventions(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var limit = app.Configuration.GetSection(HttpOptions.Section).Get<HttpOptions>()?.MaxRequestBodyBytes ?? new HttpOptions().MaxRequestBodyBytes;
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use((context, next) =>
        {
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = limit;
            }

            if (context.Request.ContentLength > limit)
            {
                return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
                    detail: $"Request bodies are limited to {limit} bytes.").ExecuteAsync(context);
            }

            return next(context);
        });
        return app;
    }
}

/// <summary>HTTP limits.</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Largest request body accepted, in bytes (default 256 KiB).</summary>
    [System.ComponentModel.DataAnnotations.Range(1024, 100 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 256 * 1024;
}
