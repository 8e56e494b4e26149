using System.Security.Cryptography;
using Billing.Functions.Auth;
using Microsoft.AspNetCore.Mvc;

namespace Billing.Functions.Idempotency;

/// <summary>
/// Honours <c>Idempotency-Key</c> on every authenticated POST: the first response (status + body) is stored for 24 h
/// and replayed for the same key and the same request (method, path, query, body); the same key with a different
/// request is 422; a duplicate that arrives while the first is still running is 409. Server errors (5xx) are not
/// stored, so a retry runs again. Keys are scoped to the API key or customer token that sent them.
/// </summary>
public sealed class IdempotencyMiddleware(RequestDelegate next)
{
    public const string Header = "Idempotency-Key";

    public async Task InvokeAsync(HttpContext context, IdempotencyStore store, IProblemDetailsService problems)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(problems);
        var scope = context.User.Actor();
        if (!HttpMethods.IsPost(context.Request.Method) || scope is null || !context.Request.Headers.TryGetValue(Header, out var values))
        {
            await next(context);
            return;
        }

        var key = values.ToString();
        if (key.Length is 0 or > 255 || key.Any(char.IsControl))
        {
            await Problem(context, problems, 400, "Invalid idempotency key", "Idempotency-Key must be 1 to 255 printable characters.", "idempotency_key_invalid");
            return;
        }

        var hash = await HashRequestAsync(context.Request, context.RequestAborted);
        var (claim, record, etag) = await store.ClaimAsync(scope, key, hash, context.RequestAborted);
        switch (claim)
        {
            case IdempotencyClaim.Mismatch:
                await Problem(context, problems, 422, "Idempotency key reused", "This Idempotency-Key was used with a different request. Use a new key for a new request.", "idempotency_key_reused");
                return;
            case IdempotencyClaim.InProgress:
                await Problem(context, problems, 409, "Request in progress", "A request with this Idempotency-Key is still being processed. Retry shortly.", "idempotency_key_in_use");
                return;
            case IdempotencyClaim.Replay:
                context.Response.StatusCode = record!.Status!.Value;
                context.Response.Headers["Idempotent-Replayed"] = "true";
                if (record.Location is not null)
                {
                    context.Response.Headers.Location = record.Location;
                }

                if (record.ContentType is not null)
                {
                    context.Response.ContentType = record.ContentType;
                }

                await context.Response.WriteAsync(record.Body ?? "", context.RequestAborted);
                return;
        }

        var original = context.Response.Body;
        await using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        catch
        {
            await store.ReleaseAsync(scope, key, etag, CancellationToken.None);
            throw;
        }
        finally
        {
            context.Response.Body = original;
        }

        if (context.Response.StatusCode >= 500)
        {
            await store.ReleaseAsync(scope, key, etag, CancellationToken.None);
        }
        else
        {
            await store.CompleteAsync(scope, key, record! with
            {
                Status = context.Response.StatusCode,
                ContentType = context.Response.ContentType,
                Location = context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null,
                Body = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length),
            }, etag, CancellationToken.None);
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static async Task<string> HashRequestAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            sha.AppendData(chunk, 0, read);
        }

        request.Body.Position = 0;
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static Task Problem(HttpContext context, IProblemDetailsService problems, int status, string title, string detail, string code)
    {
        context.Response.StatusCode = status;
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail, Extensions = { ["code"] = code } },
        }).AsTask();
    }
}
