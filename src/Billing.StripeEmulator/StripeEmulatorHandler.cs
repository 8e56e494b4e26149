using System.Net;
using System.Text;

namespace Billing.StripeEmulator;

/// <summary>
/// Serves the emulator in-process. Use as
/// <c>new StripeClient(key, httpClient: new SystemNetHttpClient(new HttpClient(handler)), apiBase: StripeEmulator.InProcessBaseUrl)</c>.
/// </summary>
public sealed class StripeEmulatorHandler : HttpMessageHandler
{
    private readonly StripeEmulator _emulator;

    public StripeEmulatorHandler(StripeEmulator emulator)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        _emulator = emulator;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("Request has no URI.");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in request.Headers)
        {
            headers[h.Key] = string.Join(",", h.Value);
        }

        var body = string.Empty;
        byte[]? raw = null;
        if (request.Content is not null)
        {
            foreach (var h in request.Content.Headers)
            {
                headers[h.Key] = string.Join(",", h.Value);
            }

            raw = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            body = Encoding.UTF8.GetString(raw);
        }

        var response = await _emulator.ProcessAsync(
            new EmulatorRequest
            {
                Method = request.Method.Method.ToUpperInvariant(),
                Path = uri.AbsolutePath,
                Query = uri.Query.TrimStart('?'),
                Body = body,
                RawBody = raw,
                Headers = headers,
            },
            cancellationToken);

        var message = new HttpResponseMessage((HttpStatusCode)response.StatusCode)
        {
            Content = new StringContent(response.Body, Encoding.UTF8, "application/json"),
            RequestMessage = request,
        };
        foreach (var (k, v) in response.Headers)
        {
            message.Headers.TryAddWithoutValidation(k, v);
        }

        return message;
    }
}
