using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Billing.StripeEmulator;

/// <summary>Serves a <see cref="StripeEmulator"/> over HTTP with Kestrel on 127.0.0.1.</summary>
public sealed class StripeEmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsEmulator;

    private StripeEmulatorServer(WebApplication app, StripeEmulator emulator, Uri baseUrl, bool ownsEmulator)
    {
        _app = app;
        Emulator = emulator;
        BaseUrl = baseUrl;
        _ownsEmulator = ownsEmulator;
    }

    /// <summary>The emulator served.</summary>
    public StripeEmulator Emulator { get; }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:54321</c> (pass as Stripe.net's <c>apiBase</c>).</summary>
    public Uri BaseUrl { get; }

    /// <summary>Starts a server for an existing emulator (not disposed with the server) or a new one.</summary>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="emulator">Emulator to serve; null creates one from <paramref name="options"/> and <paramref name="timeProvider"/>.</param>
    /// <param name="options">Options for a new emulator.</param>
    /// <param name="timeProvider">Clock for a new emulator.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    public static async Task<StripeEmulatorServer> StartAsync(
        int port = 0,
        StripeEmulator? emulator = null,
        StripeEmulatorOptions? options = null,
        TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        var owns = emulator is null;
        emulator ??= new StripeEmulator(options, timeProvider);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var target = emulator;
        app.Run(ctx => ServeAsync(target, ctx));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StripeEmulatorServer(app, emulator, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)), owns);
    }

    private static async Task ServeAsync(StripeEmulator emulator, HttpContext ctx)
    {
        byte[] raw;
        using (var buffer = new MemoryStream())
        {
            await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
            raw = buffer.ToArray();
        }

        var body = System.Text.Encoding.UTF8.GetString(raw);

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in ctx.Request.Headers)
        {
            headers[h.Key] = h.Value.ToString();
        }

        EmulatorResponse response;
        try
        {
            response = await emulator.ProcessAsync(
                new EmulatorRequest
                {
                    Method = ctx.Request.Method.ToUpperInvariant(),
                    Path = ctx.Request.Path.Value ?? "/",
                    Query = ctx.Request.QueryString.HasValue ? ctx.Request.QueryString.Value!.TrimStart('?') : string.Empty,
                    Body = body,
                    RawBody = raw,
                    Headers = headers,
                },
                ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        ctx.Response.StatusCode = response.StatusCode;
        ctx.Response.ContentType = "application/json";
        foreach (var (k, v) in response.Headers)
        {
            ctx.Response.Headers[k] = v;
        }

        await ctx.Response.WriteAsync(response.Body, ctx.RequestAborted);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsEmulator)
        {
            await Emulator.DisposeAsync();
        }
    }
}
