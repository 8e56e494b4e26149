using System.Net.Http.Headers;
using System.Text;

namespace Billing.StripeEmulator;

/// <summary>A webhook destination: a URL (sent through <see cref="Handler"/> or <see cref="Sender"/> when given) and its secret.</summary>
public sealed class WebhookEndpoint
{
    public WebhookEndpoint(Uri url, string secret)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Url = url;
        Secret = secret;
    }

    /// <summary>Endpoint id (<c>we_...</c>).</summary>
    public string Id { get; } = Ids.New("we_");

    /// <summary>Target URL (absolute). With a <see cref="Handler"/> only its path matters.</summary>
    public Uri Url { get; }

    /// <summary>Signing secret (<c>whsec_...</c>).</summary>
    public string Secret { get; }

    /// <summary>
    /// Deliver through this handler instead of the network (e.g. <c>WebApplicationFactory.Server.CreateHandler()</c>).
    /// The emulator does not dispose it.
    /// </summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>Deliver by calling this delegate instead of HTTP (receives a ready, signed request).</summary>
    public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>? Sender { get; init; }

    /// <summary>Event types to send (<c>*</c> or empty = all; <c>charge.dispute.*</c> style wildcards allowed).</summary>
    public ICollection<string> EnabledEvents { get; init; } = new List<string>();

    internal bool Wants(string type) =>
        EnabledEvents.Count == 0 || EnabledEvents.Any(e => e == "*" || e == type ||
            (e.EndsWith(".*", StringComparison.Ordinal) && type.StartsWith(e[..^1], StringComparison.Ordinal)));
}

/// <summary>One delivery attempt, for assertions.</summary>
public sealed record WebhookAttempt(
    string EventId,
    string EventType,
    string EndpointId,
    int Attempt,
    int? StatusCode,
    string? Error,
    bool Succeeded,
    bool IsDuplicate,
    DateTimeOffset At);

/// <summary>
/// The asynchronous, at-least-once webhook outbox of an emulator: a background loop signs and posts each event to
/// each endpoint, retrying non-2xx answers with exponential backoff (real time).
/// </summary>
public sealed class WebhookDispatcher : IAsyncDisposable
{
    private static readonly HttpClient SharedClient = new() { Timeout = Timeout.InfiniteTimeSpan };

    private readonly StripeEmulatorOptions _options;
    private readonly TimeProvider _signatureClock;
    private readonly Lock _gate = new();
    private readonly List<WebhookEndpoint> _endpoints = [];
    private readonly List<Delivery> _outbox = [];
    private readonly List<WebhookAttempt> _attempts = [];
    private readonly List<Delivery> _deadLetters = [];
    private readonly Dictionary<WebhookEndpoint, HttpClient> _clients = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private bool _paused;
    private int _duplicateNext;
    private int _delivered;
    private int _failedAttempts;
    private int _duplicates;

    internal WebhookDispatcher(StripeEmulatorOptions options)
    {
        _options = options;
        _signatureClock = options.SignatureClock ?? TimeProvider.System;
        foreach (var ep in options.WebhookEndpoints)
        {
            _endpoints.Add(ep);
        }

        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Probability (0..1) that a successfully delivered event is delivered again later.</summary>
    public double DuplicateProbability { get; set; }

    /// <summary>Shuffle each batch of ready deliveries (use with <see cref="Pause"/>/<see cref="Resume"/> to reorder a set of events).</summary>
    public bool ShuffleBatches { get; set; }

    /// <summary>Wait this long (real time) before each delivery attempt.</summary>
    public TimeSpan DeliveryDelay { get; set; }

    /// <summary>
    /// How many deliveries are in flight at once (default 1: one after another, in the order of each batch). Stripe sends
    /// many at once to a busy endpoint, in no guaranteed order; load tests raise this so delivery keeps up.
    /// </summary>
    public int DeliveryConcurrency { get; set; } = 1;

    /// <summary>Successful deliveries (duplicates included).</summary>
    public int DeliveredCount => Volatile.Read(ref _delivered);

    /// <summary>Failed attempts (non-2xx, exceptions, timeouts).</summary>
    public int FailedAttemptCount => Volatile.Read(ref _failedAttempts);

    /// <summary>Duplicate deliveries sent.</summary>
    public int DuplicateCount => Volatile.Read(ref _duplicates);

    /// <summary>Deliveries not yet successful (including in flight and waiting for retry).</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _outbox.Count;
            }
        }
    }

    /// <summary>Deliveries given up after <see cref="StripeEmulatorOptions.WebhookMaxAttempts"/>.</summary>
    public int DeadLetterCount
    {
        get
        {
            lock (_gate)
            {
                return _deadLetters.Count;
            }
        }
    }

    /// <summary>True while paused.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_gate)
            {
                return _paused;
            }
        }
    }

    /// <summary>All attempts so far, oldest first.</summary>
    public IReadOnlyList<WebhookAttempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Registers an endpoint; it receives events created from now on.</summary>
    public void AddEndpoint(WebhookEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        lock (_gate)
        {
            _endpoints.Add(endpoint);
        }
    }

    /// <summary>Unregisters an endpoint (pending deliveries to it are dropped).</summary>
    public void RemoveEndpoint(WebhookEndpoint endpoint)
    {
        lock (_gate)
        {
            _endpoints.Remove(endpoint);
            _outbox.RemoveAll(d => d.Endpoint == endpoint);
        }
    }

    /// <summary>Stops delivering; events accumulate in the outbox.</summary>
    public void Pause()
    {
        lock (_gate)
        {
            _paused = true;
        }
    }

    /// <summary>Resumes delivery and flushes the outbox (as one batch, shuffled if <see cref="ShuffleBatches"/>).</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _paused = false;
            foreach (var d in _outbox)
            {
                d.NextAttemptAt = DateTimeOffset.MinValue;
            }
        }

        _signal.Release();
    }

    /// <summary>The next <paramref name="count"/> successful deliveries are each delivered a second time.</summary>
    public void DuplicateNext(int count = 1)
    {
        lock (_gate)
        {
            _duplicateNext += count;
        }
    }

    /// <summary>Waits until the outbox is empty (everything delivered or dead-lettered).</summary>
    /// <exception cref="TimeoutException">When not drained in time (default 10 s).</exception>
    public async Task WaitForDrainAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            lock (_gate)
            {
                if (_outbox.Count == 0)
                {
                    return;
                }
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Webhook outbox not drained: {PendingCount} deliveries pending{(IsPaused ? " (delivery is paused)" : string.Empty)}.");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    internal void Enqueue(string eventId, string eventType, string payload)
    {
        lock (_gate)
        {
            foreach (var ep in _endpoints)
            {
                if (ep.Wants(eventType))
                {
                    _outbox.Add(new Delivery(ep, eventId, eventType, payload, false));
                }
            }
        }

        _signal.Release();
    }

    internal int EndpointCount
    {
        get
        {
            lock (_gate)
            {
                return _endpoints.Count;
            }
        }
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(TimeSpan.FromMilliseconds(25), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            List<Delivery> batch;
            lock (_gate)
            {
                if (_paused)
                {
                    continue;
                }

                var now = DateTimeOffset.UtcNow;
                batch = _outbox.Where(d => !d.InFlight && d.NextAttemptAt <= now).ToList();
                foreach (var d in batch)
                {
                    d.InFlight = true;
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            if (ShuffleBatches && batch.Count > 1)
            {
#pragma warning disable CA5394 // test infrastructure
                Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batch));
#pragma warning restore CA5394
            }

            if (DeliveryConcurrency > 1)
            {
                try
                {
                    await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = DeliveryConcurrency, CancellationToken = stop },
                        async (delivery, ct) => await DeliverAsync(delivery, ct));
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            foreach (var delivery in batch)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                await DeliverAsync(delivery, stop);
            }
        }
    }

    private async Task DeliverAsync(Delivery d, CancellationToken stop)
    {
        if (DeliveryDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(DeliveryDelay, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        d.Attempt++;
        int? status = null;
        string? error = null;
        try
        {
            using var request = BuildRequest(d);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cts.CancelAfter(_options.WebhookTimeout);
            using var response = await SendAsync(d.Endpoint, request, cts.Token);
            status = (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            error = ex.GetType().Name + ": " + ex.Message;
        }

        var ok = status is >= 200 and < 300;
        var requeue = false;
        lock (_gate)
        {
            _attempts.Add(new WebhookAttempt(d.EventId, d.EventType, d.Endpoint.Id, d.Attempt, status, error, ok, d.IsDuplicate, DateTimeOffset.UtcNow));
            d.InFlight = false;
            if (ok)
            {
                _delivered++;
                _outbox.Remove(d);
                if (!d.IsDuplicate)
                {
                    var dup = false;
                    if (_duplicateNext > 0)
                    {
                        _duplicateNext--;
                        dup = true;
                    }
#pragma warning disable CA5394 // test infrastructure
                    else if (DuplicateProbability > 0 && Random.Shared.NextDouble() < DuplicateProbability)
#pragma warning restore CA5394
                    {
                        dup = true;
                    }

                    if (dup)
                    {
                        _duplicates++;
                        _outbox.Add(new Delivery(d.Endpoint, d.EventId, d.EventType, d.Payload, true));
                        requeue = true;
                    }
                }
            }
            else
            {
                _failedAttempts++;
                if (d.Attempt >= _options.WebhookMaxAttempts)
                {
                    _outbox.Remove(d);
                    _deadLetters.Add(d);
                }
                else
                {
                    var backoff = TimeSpan.FromTicks(Math.Min(
                        _options.WebhookRetryMaxDelay.Ticks,
                        _options.WebhookRetryInitialDelay.Ticks * (1L << Math.Min(d.Attempt - 1, 20))));
                    d.NextAttemptAt = DateTimeOffset.UtcNow + backoff;
                }
            }
        }

        if (requeue)
        {
            _signal.Release();
        }
    }

    private HttpRequestMessage BuildRequest(Delivery d)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, d.Endpoint.Url)
        {
            Content = new StringContent(d.Payload, Encoding.UTF8, "application/json"),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("User-Agent", "Stripe/1.0 (+emulator)");
        request.Headers.TryAddWithoutValidation("Stripe-Signature", StripeSignature.ComputeHeader(d.Endpoint.Secret, d.Payload, _signatureClock.GetUtcNow()));
        return request;
    }

    private Task<HttpResponseMessage> SendAsync(WebhookEndpoint ep, HttpRequestMessage request, CancellationToken ct)
    {
        if (ep.Sender is not null)
        {
            return ep.Sender(request, ct);
        }

        HttpClient client;
        if (ep.Handler is not null)
        {
            lock (_gate)
            {
                if (!_clients.TryGetValue(ep, out client!))
                {
                    client = new HttpClient(ep.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
                    _clients[ep] = client;
                }
            }
        }
        else
        {
            client = SharedClient;
        }

        return client.SendAsync(request, ct);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        lock (_gate)
        {
            foreach (var c in _clients.Values)
            {
                c.Dispose();
            }

            _clients.Clear();
        }

        _stop.Dispose();
        _signal.Dispose();
    }

    private sealed class Delivery(WebhookEndpoint endpoint, string eventId, string eventType, string payload, bool isDuplicate)
    {
        public WebhookEndpoint Endpoint { get; } = endpoint;

        public string EventId { get; } = eventId;

        public string EventType { get; } = eventType;

        public string Payload { get; } = payload;

        public bool IsDuplicate { get; } = isDuplicate;

        public int Attempt { get; set; }

        public bool InFlight { get; set; }

        public DateTimeOffset NextAttemptAt { get; set; } = DateTimeOffset.MinValue;
    }
}
