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

    /// <summary>The body's bytes when it may be binary (multipart uploads); <see cref="Body"/> is then its UTF-8 reading.</summary>
#pragma warning disable CA1819 // a request body is an array by nature
    public byte[]? RawBody { get; init; }
#pragma warning restore CA1819

    /// <summary>The file part of a multipart upload, once parsed.</summary>
    internal EmulatorUpload? Upload { get; init; }

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

/// <summary>The file of a <c>multipart/form-data</c> upload.</summary>
internal sealed record EmulatorUpload(string FileName, string ContentType, byte[] Content);
