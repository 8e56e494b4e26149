using System.Text.Json;
using Billing.Domain;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Storage;
using Billing.Functions.StripeGateway;
using Microsoft.Extensions.Options;
using Stripe;

namespace Billing.Functions.Payments;

/// <summary>
/// <c>POST /api/webhooks/stripe</c>: authenticated by its signature alone. The raw body is verified against every
/// configured secret (rotation) within the timestamp tolerance; anything else is 400 and nothing is stored. A verified
/// event is recorded once by id (a duplicate is a 200 no-op), queued on <c>stripe-events</c>, and answered 200 at once;
/// <see cref="StripeEventsFunction"/> processes it. <c>GET /api/stripe-events?type=…</c> lists stored events (admin).
/// </summary>
public static partial class StripeWebhookApi
{
    public static IEndpointRouteBuilder MapStripeWebhookApi(this IEndpointRouteBuilder routes)
    {
        // Not under the per-caller rate limit: Stripe sends from a few addresses, so a per-address bucket sized for API
        // clients would refuse a busy account's events (and Stripe would back off and retry them for days). A request is
        // authenticated by its signature alone, bodies are size-limited, and an unsigned one costs one HMAC and stores nothing.
        routes.MapPost("/api/webhooks/stripe", ReceiveAsync).AllowAnonymous().DisableRateLimiting().WithTags("Webhooks").WithSummary("Stripe webhook (signed by Stripe)");

        routes.MapGet("/api/stripe-events", async (HttpRequest request, StripeEventStore events, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            string? type = request.Query["type"];
            errors.AddIf(!StripeEventStore.IsKey(type), "type", "Required: a Stripe event type such as 'charge.dispute.created'.");
            StripeEventStatus? status = null;
            if (request.Query["status"].ToString() is { Length: > 0 } raw)
            {
                status = Enum.GetValues<StripeEventStatus>().Cast<StripeEventStatus?>().FirstOrDefault(s => JsonNamingPolicy.SnakeCaseLower.ConvertName(s!.Value.ToString()) == raw);
                errors.AddIf(status is null, "status", "Must be received, processed, ignored or unmatched.");
            }

            var limit = Paging.DefaultLimit;
            if (request.Query.TryGetValue("limit", out var rawLimit) && (!int.TryParse(rawLimit, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > Paging.MaxLimit))
            {
                errors.Add("limit", $"Must be a whole number from 1 to {Paging.MaxLimit}.");
            }

            string? after = request.Query["starting_after"];
            errors.AddIf(after is not null && !(after.StartsWith("evt_", StringComparison.Ordinal) && StripeEventStore.IsKey(after)), "starting_after", "Must be an event id from a previous page.");
            errors.ThrowIfAny();
            var page = await events.ListAsync(type!, status, limit, after, cancellationToken);
            return TypedResults.Ok(new ListResponse<StripeEventResponse>([.. page.Data.Select(StripeEventResponse.From)], page.HasMore, "/api/stripe-events"));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithTags("Webhooks").WithSummary("List received Stripe events of one type (e.g. disputes)");
        return routes;
    }

    private static async Task<IResult> ReceiveAsync(
        HttpRequest request,
        StripeRuntime runtime,
        IOptions<StripeOptions> options,
        StripeEventStore events,
        StripeEventTriage triage,
        StripeEventQueue queue,
        Telemetry.BillingMetrics metrics,
        TimeProvider clock,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(StripeWebhookApi));
        using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8);
        var payload = await reader.ReadToEndAsync(cancellationToken);
        var header = request.Headers["Stripe-Signature"].ToString();
        var signed = false;
        if (header.Length > 0)
        {
            foreach (var secret in runtime.WebhookSecrets)
            {
                try
                {
                    // Stripe.net's check of the signature alone: the event is then read with System.Text.Json for the few
                    // fields stored here, not deserialized into Stripe.net's object model (most of a request's CPU).
                    EventUtility.ValidateSignature(payload, header, secret, options.Value.WebhookTolerance, clock.GetUtcNow().ToUnixTimeSeconds());
                    signed = true;
                    break;
                }
                catch (StripeException)
                {
                    // Try the next secret (rotation); a stale timestamp fails them all.
                }
            }
        }

        if (!signed || ReceivedEvent.Parse(payload) is not { } verified || !StripeEventStore.IsKey(verified.Id) || !StripeEventStore.IsKey(verified.Type))
        {
            LogRejected(logger, header.Length > 0);
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid signature",
                detail: "The Stripe-Signature header is missing, does not match the payload, or its timestamp is outside the tolerance.",
                extensions: new Dictionary<string, object?> { ["code"] = "invalid_signature" });
        }

        // An event whose processing would change nothing is stored with that outcome and not queued (see StripeEventTriage).
        var now = clock.GetUtcNow();
        var decided = await triage.DecideAsync(verified.Type, payload, cancellationToken);
        var record = new StripeEventRecord
        {
            Id = verified.Id,
            Type = verified.Type,
            ObjectId = verified.ObjectId,
            Created = verified.Created,
            Livemode = verified.Livemode,
            Payload = decided is null ? payload : "", // decided at receipt: nothing will read it (see StripeEventRecord.Payload)
            ReceivedAt = now,
            Status = decided?.Status ?? StripeEventStatus.Received,
            Attempts = decided is null ? 0 : 1,
            ProcessedAt = decided is null ? null : now,
            Note = decided?.Note,
        };
        var (stored, created) = await events.AddAsync(record, cancellationToken);
        if (created && decided is not null)
        {
            metrics.WebhookProcessed(record.Type, now - record.Created);
        }
        else if (created || stored.Status == StripeEventStatus.Received)
        {
            // A duplicate of an event never processed (e.g. we crashed before queueing it) is queued again: processing is idempotent.
            await queue.SendAsync(stored.Type, stored.Id, cancellationToken);
        }

        LogReceived(logger, verified.Id, verified.Type, !created);
        return TypedResults.Ok(new WebhookAck(true, !created));
    }

    /// <summary>What is stored of a verified event: <c>id</c>, <c>type</c>, <c>created</c>, <c>livemode</c>, <c>data.object.id</c>.</summary>
    private sealed record ReceivedEvent(string Id, string Type, DateTimeOffset Created, bool Livemode, string? ObjectId)
    {
        /// <summary>Null unless the payload is an event object with a string id and type and a numeric created.</summary>
        public static ReceivedEvent? Parse(string payload)
        {
            try
            {
                using var document = JsonDocument.Parse(payload);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                    || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                    || !root.TryGetProperty("created", out var created) || created.ValueKind != JsonValueKind.Number || !created.TryGetInt64(out var seconds) || seconds is < 0 or > 253_402_300_799)
                {
                    return null;
                }

                var livemode = root.TryGetProperty("livemode", out var live) && live.ValueKind == JsonValueKind.True;
                var objectId = root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    && data.TryGetProperty("object", out var obj) && obj.ValueKind == JsonValueKind.Object
                    && obj.TryGetProperty("id", out var objId) && objId.ValueKind == JsonValueKind.String
                        ? objId.GetString()
                        : null;
                return new ReceivedEvent(id.GetString()!, type.GetString()!, DateTimeOffset.FromUnixTimeSeconds(seconds), livemode, objectId);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook rejected (signature header present: {HasHeader})")]
    private static partial void LogRejected(ILogger logger, bool hasHeader);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe event {EventId} ({Type}) received; duplicate: {Duplicate}")]
    private static partial void LogReceived(ILogger logger, string eventId, string type, bool duplicate);
}

/// <summary>The webhook's answer.</summary>
public sealed record WebhookAck(bool Received, bool Duplicate);

/// <summary>
/// A pointer at a stored event; a <c>stripe-events</c> message holds one, or several as a JSON array
/// (<see cref="StripeEventQueue"/>).
/// </summary>
public sealed record StripeEventMessage(string Type, string Id)
{
    public static string Serialize(string type, string id) => JsonSerializer.Serialize(new StripeEventMessage(type, id), StorageJson.Options);

    /// <summary>The pointers of a message (empty when it is not one).</summary>
    public static IReadOnlyList<StripeEventMessage> ParseAll(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            IReadOnlyList<StripeEventMessage?> all = text.TrimStart().StartsWith('[')
                ? JsonSerializer.Deserialize<StripeEventMessage?[]>(text, StorageJson.Options) ?? []
                : [JsonSerializer.Deserialize<StripeEventMessage>(text, StorageJson.Options)];
            return all.All(p => p is { Type: not null, Id: not null }) ? [.. all.OfType<StripeEventMessage>()] : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>
/// The <c>stripe-events</c> queue as the webhook sends to it: several events received at once share a message (group
/// commit, <see cref="QueueGroupSender"/>), and a request is answered only once its event's message is stored.
/// </summary>
public sealed class StripeEventQueue(StorageClients clients)
{
    private readonly QueueGroupSender sender = new(clients.Queue(StripeEventsFunction.Queue));

    public Task SendAsync(string type, string id, CancellationToken cancellationToken = default) =>
        sender.SendAsync(StripeEventMessage.Serialize(type, id), cancellationToken);
}

/// <summary>A stored Stripe event on the wire (without its payload).</summary>
public sealed record StripeEventResponse(string Id, string Type, string? ObjectId, DateTimeOffset Created, DateTimeOffset ReceivedAt, StripeEventStatus Status, int Attempts, DateTimeOffset? ProcessedAt, string? Note)
{
    public string Object => "stripe_event";

    public static StripeEventResponse From(StripeEventRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.Id, r.Type, r.ObjectId, r.Created, r.ReceivedAt, r.Status, r.Attempts, r.ProcessedAt, r.Note);
    }
}
