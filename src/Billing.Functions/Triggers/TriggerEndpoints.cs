using System.Text.Json;

namespace Billing.Functions.Triggers;

/// <summary>
/// <c>POST /{FunctionName}</c> for every timer and queue function: the host's envelope in, the host's response out.
/// 200 on success; 500 only when the host should retry (queue message redelivered, then poisoned).
/// </summary>
public static partial class TriggerEndpoints
{
    public static IEndpointRouteBuilder MapTriggerFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        // Routes come from the registrations; each function is resolved on its first invocation (see QueueFunctionRoute).
        foreach (var route in routes.ServiceProvider.GetServices<QueueFunctionRoute>())
        {
            routes.MapPost("/" + route.FunctionName, async (HttpRequest request, ILoggerFactory loggers, CancellationToken cancellationToken) =>
            {
                var function = (IQueueFunction)request.HttpContext.RequestServices.GetRequiredService(route.Implementation);
                QueueMessage message;
                try
                {
                    using var envelope = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
                    message = HostEnvelope.ReadQueueInvocation(envelope.RootElement);
                }
                catch (JsonException e)
                {
                    // A malformed envelope will not get better on retry: answer 400 so the host fails this invocation visibly.
                    return Results.Problem(statusCode: 400, title: "Malformed invocation", detail: e.Message);
                }

                try
                {
                    await function.HandleAsync(message, cancellationToken);
                    return Results.Json(HostEnvelope.Response([$"{function.FunctionName}: handled message {message.Id} (attempt {message.DequeueCount})"]));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(loggers.CreateLogger(typeof(TriggerEndpoints)), e, function.FunctionName, message.Id, message.DequeueCount);
                    return Results.Json(HostEnvelope.Response([$"{function.FunctionName}: failed, will be retried"]), statusCode: 500);
                }
            }).AllowAnonymous().ExcludeFromDescription().DisableRateLimiting();
        }

        foreach (var route in routes.ServiceProvider.GetServices<TimerFunctionRoute>())
        {
            routes.MapPost("/" + route.FunctionName, async (HttpRequest request, CancellationToken cancellationToken) =>
            {
                var function = (ITimerFunction)request.HttpContext.RequestServices.GetRequiredService(route.Implementation);
                TimerInvocation invocation;
                try
                {
                    using var envelope = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
                    invocation = HostEnvelope.ReadTimerInvocation(envelope.RootElement);
                }
                catch (JsonException e)
                {
                    return Results.Problem(statusCode: 400, title: "Malformed invocation", detail: e.Message);
                }

                var logs = await function.RunAsync(invocation, cancellationToken);
                return Results.Json(HostEnvelope.Response(logs));
            }).AllowAnonymous().ExcludeFromDescription().DisableRateLimiting();
        }

        return routes;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Function} failed for message {MessageId} (attempt {DequeueCount})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string function, string messageId, long dequeueCount);
}
