using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Auth;

/// <summary>API keys, customer tokens, the two authorization policies, per-caller rate limits and CORS.</summary>
public static partial class AuthSetup
{
    /// <summary>Admin API keys only.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Admin keys, or a customer token (handlers then scope data with <see cref="Caller.EnsureCanAccess"/>).</summary>
    public const string CustomerPolicy = "customer";

    public static IServiceCollection AddBillingAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ApiKeyRegistry>();
        services.AddSingleton<CustomerTokens>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireRole(Caller.RoleAdmin))
            .AddPolicy(CustomerPolicy, policy => policy.RequireRole(Caller.RoleAdmin, Caller.RoleCustomer));
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var perSecond = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.RateLimitPerSecond;
                var partition = context.User.Actor() ?? "anonymous:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perSecond * 2,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = "1";
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = { Status = 429, Title = "Too many requests", Detail = "This key sent too many requests; retry after the number of seconds in Retry-After." },
                });
            };
        });
        services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            var origins = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>()?.CorsOrigins ?? [];
            policy.WithOrigins([.. origins]).AllowAnyHeader().WithMethods("GET", "POST", "PATCH", "DELETE").WithExposedHeaders("Idempotent-Replayed", "Location");
        }));
        return services;
    }

    public static WebApplication UseBillingAuth(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseCors();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        if (app.Environment.IsDevelopment())
        {
            var key = "sk_test_dev_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            app.Services.GetRequiredService<ApiKeyRegistry>().AddPlain("development", key);
            LogDevelopmentKey(app.Logger, key);
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Development admin API key for this process (Development only): {Key}")]
    private static partial void LogDevelopmentKey(ILogger logger, string key);

    /// <summary>401 problem details without credentials; 404 (not 403) when a customer token reaches beyond its customer.</summary>
    private sealed class ProblemAuthorizationResultHandler(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler fallback = new();

        public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            if (authorizeResult.Challenged)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails { Status = 401, Title = "Unauthorized", Detail = "Send a valid API key or customer token as 'Authorization: Bearer …'." },
                });
                return;
            }

            if (authorizeResult.Forbidden)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails { Status = 404, Title = "Not found", Detail = "No such resource.", Extensions = { ["code"] = "resource_missing" } },
                });
                return;
            }

            await fallback.HandleAsync(next, context, policy, authorizeResult);
        }
    }
}
