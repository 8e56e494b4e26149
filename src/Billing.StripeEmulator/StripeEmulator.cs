using System.Text.Json;
using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

/// <summary>
/// An offline, stateful stand-in for the subset of Stripe's API used by BillingFunctions. Thread-safe: every API
/// operation runs under one lock. Reach it in-process with <see cref="CreateHandler"/> or over HTTP with
/// <see cref="StripeEmulatorServer"/>.
/// </summary>
public sealed partial class StripeEmulator : IAsyncDisposable
{
    /// <summary>The API version of Stripe.net 53.1.0.</summary>
    public const string PinnedApiVersion = "2026-10-28.endive";

    /// <summary>Base URL to give Stripe.net's <c>apiBase</c> for the in-process handler.</summary>
    public const string InProcessBaseUrl = "http://stripe-emulator.local";

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly Lock _sync = new();
    private readonly TimeProvider _time;
    private readonly ITimer _jobTimer;
    private readonly Dictionary<string, CustomerRec> _customers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PaymentMethodRec> _paymentMethods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SetupIntentRec> _setupIntents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PaymentIntentRec> _paymentIntents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChargeRec> _charges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefundRec> _refunds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DisputeRec> _disputes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileRec> _files = new(StringComparer.Ordinal);
    private readonly List<JsonObject> _events = [];
    private readonly Dictionary<string, JsonObject> _eventsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdempotentResult> _idempotency = new(StringComparer.Ordinal);
    private readonly List<EmulatorRequestLog> _requests = [];
    private readonly List<(DateTimeOffset Due, long Seq, Action Run)> _jobs = [];
    private TimeSpan _offset;
    private long _seq;
    private int _nextRefundsPending;
    private int _nextPaymentsProcessing;
    private string? _currentRequestId;
    private string? _currentIdempotencyKey;
    private EmulatorUpload? _currentUpload;

    /// <summary>Creates an emulator.</summary>
    /// <param name="options">Settings; null for defaults.</param>
    /// <param name="timeProvider">Emulator clock (e.g. <c>FakeTimeProvider</c>); null for the system clock.</param>
    public StripeEmulator(StripeEmulatorOptions? options = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new StripeEmulatorOptions();
        _time = timeProvider ?? TimeProvider.System;
        Webhooks = new WebhookDispatcher(Options);
        _jobTimer = _time.CreateTimer(_ => RunDueJobs(), null, Options.JobTimerPeriod, Options.JobTimerPeriod);
    }

    /// <summary>The options in use.</summary>
    public StripeEmulatorOptions Options { get; }

    /// <summary>Webhook outbox and delivery controls.</summary>
    public WebhookDispatcher Webhooks { get; }

    /// <summary>Fault injection rules.</summary>
    public FaultInjector Faults { get; } = new();

    /// <summary>Current emulator time (clock + <see cref="AdvanceTime"/> offset).</summary>
    public DateTimeOffset UtcNow
    {
        get
        {
            lock (_sync)
            {
                return _time.GetUtcNow() + _offset;
            }
        }
    }

    private long NowUnix => (_time.GetUtcNow() + _offset).ToUnixTimeSeconds();

    /// <summary>An <see cref="HttpMessageHandler"/> serving the API in-process; use with <see cref="InProcessBaseUrl"/> (any base works).</summary>
    public HttpMessageHandler CreateHandler() => new StripeEmulatorHandler(this);

    /// <summary>Every API request handled so far.</summary>
    public IReadOnlyList<EmulatorRequestLog> Requests
    {
        get
        {
            lock (_sync)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Types of all events created so far, oldest first.</summary>
    public IReadOnlyList<string> EventTypes
    {
        get
        {
            lock (_sync)
            {
                return [.. _events.Select(e => (string)e["type"]!)];
            }
        }
    }

    /// <summary>Number of objects of a Stripe type (<c>customer</c>, <c>payment_intent</c>, <c>charge</c>, <c>refund</c>, ...).</summary>
    public int Count(string objectType)
    {
        lock (_sync)
        {
            return objectType switch
            {
                "customer" => _customers.Values.Count(c => !c.Deleted),
                "payment_method" => _paymentMethods.Count,
                "setup_intent" => _setupIntents.Count,
                "payment_intent" => _paymentIntents.Count,
                "charge" => _charges.Count,
                "refund" => _refunds.Count,
                "dispute" => _disputes.Count,
                "file" => _files.Count,
                "event" => _events.Count,
                _ => throw new ArgumentOutOfRangeException(nameof(objectType), objectType, "Unknown object type."),
            };
        }
    }

    /// <summary>The current JSON of any object by id (<c>cus_</c>, <c>pm_</c>, <c>pi_</c>, <c>ch_</c>, <c>re_</c>, <c>du_</c>, <c>seti_</c>, <c>evt_</c>), or null.</summary>
    public JsonObject? GetObject(string id)
    {
        lock (_sync)
        {
            return LookupJson(id);
        }
    }

    /// <summary>All events as Stripe JSON, oldest first.</summary>
    public IReadOnlyList<JsonObject> GetEvents()
    {
        lock (_sync)
        {
            return [.. _events.Select(e => (JsonObject)e.DeepClone())];
        }
    }

    /// <summary>Moves the emulator clock forward and runs what became due (dispute closes).</summary>
    public void AdvanceTime(TimeSpan by)
    {
        lock (_sync)
        {
            _offset += by;
        }

        RunDueJobs();
    }

    /// <summary>Makes the next <paramref name="count"/> refunds start as <c>pending</c>.</summary>
    public void MakeNextRefundsPending(int count = 1)
    {
        lock (_sync)
        {
            _nextRefundsPending += count;
        }
    }

    /// <summary>Makes the next <paramref name="count"/> successful card payments stop at <c>processing</c> until settled.</summary>
    public void MakeNextPaymentsProcessing(int count = 1)
    {
        lock (_sync)
        {
            _nextPaymentsProcessing += count;
        }
    }

    /// <summary>Settles a pending refund to <c>succeeded</c> or <c>failed</c> (sends <c>refund.updated</c>).</summary>
    public void SettleRefund(string refundId, bool succeed = true, string failureReason = "declined")
    {
        lock (_sync)
        {
            WithEventContext(() => SettleRefundCore(refundId, succeed, failureReason));
        }
    }

    /// <summary>Settles every pending refund.</summary>
    public void SettlePendingRefunds(bool succeed = true, string failureReason = "declined")
    {
        lock (_sync)
        {
            WithEventContext(() =>
            {
                foreach (var r in _refunds.Values.Where(r => r.Status == "pending").OrderBy(r => r.Seq).ToList())
                {
                    SettleRefundCore(r.Id, succeed, failureReason);
                }
            });
        }
    }

    /// <summary>Settles every <c>processing</c> PaymentIntent to succeeded (or failed).</summary>
    public void SettleProcessingPayments(bool succeed = true)
    {
        lock (_sync)
        {
            WithEventContext(() =>
            {
                foreach (var pi in _paymentIntents.Values.Where(p => p.Status == "processing").OrderBy(p => p.Seq).ToList())
                {
                    SettleProcessingCore(pi, succeed);
                }
            });
        }
    }

    /// <summary>
    /// Runs everything scheduled regardless of its due time (dispute outcomes), settles processing payments and
    /// pending refunds to success.
    /// </summary>
    public void Settle()
    {
        RunJobs(all: true);
        SettleProcessingPayments();
        SettlePendingRefunds();
    }

    /// <summary>Opens a dispute on a succeeded charge (as the card network would).</summary>
    /// <param name="chargeId">The charge.</param>
    /// <param name="reason">Stripe dispute reason.</param>
    /// <param name="inquiry">True for an inquiry (<c>warning_needs_response</c>, no funds withdrawn).</param>
    /// <returns>The dispute id.</returns>
    public string CreateDispute(string chargeId, string reason = "fraudulent", bool inquiry = false)
    {
        lock (_sync)
        {
            string id = string.Empty;
            WithEventContext(() =>
            {
                var ch = _charges.GetValueOrDefault(chargeId) ?? throw new ArgumentException("No such charge", nameof(chargeId));
                id = OpenDispute(ch, reason, inquiry).Id;
            });
            return id;
        }
    }

    /// <summary>Closes a dispute with the given outcome now (sends the webhooks).</summary>
    public void CloseDispute(string disputeId, bool won)
    {
        lock (_sync)
        {
            WithEventContext(() => CloseDisputeCore(disputeId, won));
        }
    }

    /// <summary>Simulates the customer completing (or failing) 3-D Secure on a <c>requires_action</c> PaymentIntent.</summary>
    public void CompleteAuthentication(string paymentIntentId, bool success = true)
    {
        lock (_sync)
        {
            WithEventContext(() => CompleteAuthenticationCore(paymentIntentId, success));
        }
    }

    /// <summary>Handles one API request: auth, faults, idempotency, the operation.</summary>
    public async Task<EmulatorResponse> ProcessAsync(EmulatorRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RunDueJobs();
        var requestId = Ids.New("req_", 14);
        string? fault = null;

        foreach (var rule in Faults.Match(request.Method, request.Path, FaultPhase.BeforeOperation))
        {
            fault = rule.Kind.ToString() + "/before";
            var faulted = await ApplyFaultAsync(rule, requestId, cancellationToken);
            if (faulted is not null)
            {
                Log(request, requestId, faulted.StatusCode, false, fault);
                return faulted;
            }
        }

        if (request.Header("Content-Type") is { } contentType && contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                request = await Multipart.ParseAsync(request, contentType, cancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException or ArgumentException)
            {
                var malformed = ErrorResponse(StripeApiException.InvalidRequest("Malformed multipart body."), requestId);
                Log(request, requestId, malformed.StatusCode, false, fault);
                return malformed;
            }
        }

        var response = Execute(request, requestId, out var replayed);

        foreach (var rule in Faults.Match(request.Method, request.Path, FaultPhase.AfterOperation))
        {
            fault = rule.Kind.ToString() + "/after";
            var faulted = await ApplyFaultAsync(rule, requestId, cancellationToken);
            if (faulted is not null)
            {
                Log(request, requestId, faulted.StatusCode, replayed, fault);
                return faulted;
            }
        }

        Log(request, requestId, response.StatusCode, replayed, fault);
        return response;
    }

    private void Log(EmulatorRequest request, string requestId, int status, bool replayed, string? fault)
    {
        lock (_sync)
        {
            _requests.Add(new EmulatorRequestLog(
                requestId, request.Method, request.Path, status, request.Header("Idempotency-Key"), replayed, fault, _time.GetUtcNow() + _offset));
        }
    }

    private static async Task<EmulatorResponse?> ApplyFaultAsync(FaultRule rule, string requestId, CancellationToken ct)
    {
        switch (rule.Kind)
        {
            case FaultKind.ServerError:
                return ErrorResponse(new StripeApiException(500, "api_error", "An unknown error occurred (injected fault)."), requestId);
            case FaultKind.RateLimit:
                return ErrorResponse(
                    new StripeApiException(
                        429, "invalid_request_error",
                        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
                        "rate_limit"),
                    requestId);
            case FaultKind.Latency:
                await Task.Delay(rule.Delay ?? TimeSpan.FromMilliseconds(100), ct);
                return null;
            case FaultKind.Timeout:
                await Task.Delay(rule.Delay ?? Timeout.InfiniteTimeSpan, ct);
                return null;
            default:
                return null;
        }
    }

    private EmulatorResponse Execute(EmulatorRequest request, string requestId, out bool replayed)
    {
        replayed = false;
        var apiKey = ParseApiKey(request.Header("Authorization"));
        if (Options.RequireApiKey && !IsAllowedKey(apiKey))
        {
            var msg = apiKey is null
                ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                : $"Invalid API Key provided: {Redact(apiKey)}";
            return ErrorResponse(new StripeApiException(401, "invalid_request_error", msg, apiKey is null ? null : "api_key_invalid"), requestId);
        }

        FormParams parameters;
        try
        {
            parameters = FormParams.Merge(FormParams.Parse(request.Query), FormParams.Parse(request.Body));
        }
        catch (UriFormatException)
        {
            return ErrorResponse(StripeApiException.InvalidRequest("Malformed request body."), requestId);
        }

        var idemKey = request.Method == "POST" ? request.Header("Idempotency-Key") : null;
        var fingerprint = request.Method + " " + request.Path + "?" + parameters.Fingerprint();
        lock (_sync)
        {
            var scope = (apiKey ?? string.Empty) + "\n" + idemKey;
            if (idemKey is not null && _idempotency.TryGetValue(scope, out var saved))
            {
                if (saved.Fingerprint != fingerprint)
                {
                    return ErrorResponse(
                        new StripeApiException(
                            400, "idempotency_error",
                            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{idemKey}' if you meant to execute a different request."),
                        requestId);
                }

                replayed = true;
                var headers = new Dictionary<string, string>(saved.Headers, StringComparer.OrdinalIgnoreCase)
                {
                    ["Request-Id"] = requestId,
                    ["Idempotent-Replayed"] = "true",
                };
                return new EmulatorResponse { StatusCode = saved.StatusCode, Body = saved.Body, Headers = headers };
            }

            _currentRequestId = requestId;
            _currentIdempotencyKey = idemKey;
            _currentUpload = request.Upload;
            EmulatorResponse response;
            var save = true;
            try
            {
                var json = Route(request.Method, request.Path, parameters);
                ApplyExpand(json, parameters);
                response = JsonResponse(200, json, requestId);
            }
            catch (StripeApiException ex)
            {
                save = !ex.IsValidation && ex.StatusCode != 404;
                response = ErrorResponse(ex, requestId);
            }
            finally
            {
                _currentRequestId = null;
                _currentIdempotencyKey = null;
                _currentUpload = null;
            }

            if (idemKey is not null)
            {
                response.Headers["Idempotency-Key"] = idemKey;
                if (save)
                {
                    _idempotency[scope] = new IdempotentResult(fingerprint, response.StatusCode, response.Body, new Dictionary<string, string>(response.Headers, StringComparer.OrdinalIgnoreCase));
                }
            }

            return response;
        }
    }

    private bool IsAllowedKey(string? key)
    {
        if (key is null)
        {
            return false;
        }

        if (Options.AllowedApiKeys.Count > 0)
        {
            return Options.AllowedApiKeys.Contains(key);
        }

        return key.StartsWith("sk_test_", StringComparison.Ordinal) || key.StartsWith("rk_test_", StringComparison.Ordinal);
    }

    private static string? ParseApiKey(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var key = authorization[7..].Trim();
        return key.Length == 0 ? null : key;
    }

    private static string Redact(string key) => key.Length <= 8 ? "****" : key[..8] + "*********" + key[^4..];

    internal static EmulatorResponse JsonResponse(int status, JsonNode body, string requestId) => new()
    {
        StatusCode = status,
        Body = body.ToJsonString(Indented),
        Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Request-Id"] = requestId,
            ["Stripe-Version"] = PinnedApiVersion,
        },
    };

    internal static EmulatorResponse ErrorResponse(StripeApiException ex, string requestId)
    {
        var r = JsonResponse(ex.StatusCode, ex.ToJson(), requestId);
        if (ex.StatusCode == 429)
        {
            r.Headers["Stripe-Should-Retry"] = "false";
        }

        return r;
    }

    private void RunDueJobs() => RunJobs(all: false);

    private void RunJobs(bool all)
    {
        lock (_sync)
        {
            while (true)
            {
                var now = _time.GetUtcNow() + _offset;
                var idx = _jobs.FindIndex(j => all || j.Due <= now);
                if (idx < 0)
                {
                    return;
                }

                var job = _jobs[idx];
                _jobs.RemoveAt(idx);
                WithEventContext(job.Run);
            }
        }
    }

    private void Schedule(TimeSpan after, Action run) => _jobs.Add((_time.GetUtcNow() + _offset + after, ++_seq, run));

    private void WithEventContext(Action action)
    {
        var prevReq = _currentRequestId;
        var prevKey = _currentIdempotencyKey;
        _currentRequestId = null;
        _currentIdempotencyKey = null;
        try
        {
            action();
        }
        finally
        {
            _currentRequestId = prevReq;
            _currentIdempotencyKey = prevKey;
        }
    }

    private void Emit(string type, JsonObject obj, JsonObject? previousAttributes = null)
    {
        var data = new JsonObject { ["object"] = obj };
        if (previousAttributes is not null)
        {
            data["previous_attributes"] = previousAttributes;
        }

        var evt = new JsonObject
        {
            ["id"] = Ids.New("evt_"),
            ["object"] = "event",
            ["api_version"] = Options.ApiVersion,
            ["created"] = NowUnix,
            ["data"] = data,
            ["livemode"] = false,
            ["pending_webhooks"] = Webhooks.EndpointCount,
            ["request"] = new JsonObject { ["id"] = _currentRequestId, ["idempotency_key"] = _currentIdempotencyKey },
            ["type"] = type,
        };
        _events.Add(evt);
        _eventsById[(string)evt["id"]!] = evt;
        Webhooks.Enqueue((string)evt["id"]!, type, evt.ToJsonString(Indented));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _jobTimer.DisposeAsync();
        await Webhooks.DisposeAsync();
    }

    private sealed record IdempotentResult(string Fingerprint, int StatusCode, string Body, Dictionary<string, string> Headers);
}
