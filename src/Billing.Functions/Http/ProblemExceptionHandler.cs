using System.Text.Json;
using Billing.Domain;
using Billing.Domain.Payments;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Billing.Functions.Http;

/// <summary>
/// Turns exceptions into problem details: domain validation → 400 with field errors, unreadable bodies → 400/413/415,
/// not found → 404, state and concurrency conflicts → 409, anything else → 500 with nothing internal in it.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var problem = exception switch
        {
            DomainValidationException e => Validation(e.Errors),
            BadHttpRequestException { InnerException: JsonException json } => Validation(JsonErrors(json)),
            BadHttpRequestException e => new ProblemDetails
            {
                Status = e.StatusCode,
                Title = e.StatusCode switch
                {
                    StatusCodes.Status413PayloadTooLarge => "Request body too large",
                    StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
                    _ => "Bad request",
                },
                Detail = e.StatusCode switch
                {
                    StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json.",
                    StatusCodes.Status413PayloadTooLarge => "The request body is larger than this API accepts.",
                    _ => "The request is missing its JSON body or has a malformed parameter.",
                },
            },
            NotFoundException e => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = e.Message, Extensions = { ["code"] = "resource_missing" } },
            InvalidStateException e => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = e.Message, Extensions = { ["code"] = e.Code } },
            ConcurrencyConflictException e => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Concurrent update", Detail = e.Message, Extensions = { ["code"] = "concurrent_update" } },
            PaymentDeclinedException e => Declined(e),
            PaymentGatewayUnavailableException e => Unavailable(httpContext, e),
            PaymentGatewayRejectedException e => new ProblemDetails
            {
                Status = e.IsConflict ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest,
                Title = "Payment request rejected",
                Detail = e.Message,
                Extensions = { ["code"] = e.Code },
            },
            CurrencyMismatchException e => new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "Currency mismatch", Detail = e.Message, Extensions = { ["code"] = "currency_mismatch" } },
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => null,
            _ => null,
        };

        if (problem is null)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            problem = new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "Internal error", Detail = "An unexpected error occurred. Quote the trace id when reporting it." };
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>402 for a declined card: a plain message, the decline code and what it means for retrying.</summary>
    private static ProblemDetails Declined(PaymentDeclinedException e) => new()
    {
        Status = StatusCodes.Status402PaymentRequired,
        Title = "Payment declined",
        Detail = e.Failure.Message,
        Extensions =
        {
            ["code"] = e.Failure.Code,
            ["decline_code"] = e.Failure.DeclineCode ?? e.Failure.Code,
            ["decline_class"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(e.Failure.Class.ToString()),
            ["payment"] = e.PaymentId,
        },
    };

    /// <summary>503 with Retry-After when the payment processor stayed unavailable through our retries.</summary>
    private static ProblemDetails Unavailable(HttpContext context, PaymentGatewayUnavailableException e)
    {
        context.Response.Headers.RetryAfter = ((long)Math.Ceiling(e.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "Payment processor unavailable",
            Detail = "The payment processor is temporarily unavailable. Retry after the number of seconds in Retry-After, with the same Idempotency-Key.",
            Extensions = { ["code"] = "payment_processor_unavailable" },
        };
    }

    public static ProblemDetails Validation(IReadOnlyDictionary<string, string[]> errors) => new HttpValidationProblemDetails(errors.ToDictionary())
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Invalid request",
        Detail = "One or more fields are invalid.",
        Extensions = { ["code"] = "validation_failed" },
    };

    /// <summary>Describes a JSON error by its field path, without leaking .NET type names.</summary>
    private static Dictionary<string, string[]> JsonErrors(JsonException json)
    {
        var path = json.Path is null or "$" ? "body" : json.Path.TrimStart('$', '.');
        var message = json.Message switch
        {
            var m when m.Contains("could not be mapped", StringComparison.Ordinal) => "Unknown field.",
            var m when m.Contains("could not be converted", StringComparison.Ordinal) => "Has the wrong type or an out-of-range value.",
            var m when m.Contains("missing required properties", StringComparison.Ordinal) => "Required fields are missing.",
            _ => "Is not valid JSON.",
        };
        if (message == "Unknown field." && json.Message.Split('\'') is { Length: > 2 } parts)
        {
            var name = parts[1];
            path = path == "body" ? name : path.EndsWith(name, StringComparison.Ordinal) ? path : path + "." + name;
        }

        return new Dictionary<string, string[]> { [path] = [message] };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}
