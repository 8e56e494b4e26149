namespace Billing.StripeEmulator;

/// <summary>A transport-neutral request to the emulator.</summary>
public sealed class EmulatorRequest
{
    public required string Method { get; init; }

    /// <summary>Path without the query, e.g. <c>/v1/customers</c>.</summary>
    public required string Path { get; init; }

    /// <summary>Query string without '?', may be empty.</summary>
    public string Query { get; init; } = string.Empty;

    /// <summary>Form-encoded body, may be empty.</summary>
    public string Body { get; init; } = string.Empty;

    /// <summary>Request headers (case-insensitive names).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    internal string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>A transport-neutral response of the emulator.</summary>
public sealed class EmulatorResponse
{
    public required int StatusCode { get; init; }

    public required string Body { get; init; }

    public Dictionary<string, string> Headers { get; init; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>A log line per API request, for assertions.</summary>
public sealed record EmulatorRequestLog(
    string RequestId,
    string Method,
    string Path,
    int StatusCode,
    string? IdempotencyKey,
    bool IdempotentReplayed,
    string? Fault,
    DateTimeOffset At);
