using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Billing.Domain;
using Billing.Domain.Notifications;
using Billing.Domain.Scheduling;
using Billing.Functions.Http;
using Billing.Functions.Scheduling;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Notifications;

/// <summary>Outbound notification settings.</summary>
public sealed class NotificationsOptions
{
    public const string Section = "Notifications";

    /// <summary>Accept plain-http endpoint URLs (local development and tests only).</summary>
    public bool AllowHttp { get; set; }

    /// <summary>How long one delivery attempt may take.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Raises merchant events: what billing code calls when something the merchant cares about happened.</summary>
public interface INotifier
{
    /// <summary>
    /// Records a <paramref name="type"/> event with <paramref name="data"/> (serialized like the API shows it) and schedules
    /// a delivery to every enabled endpoint subscribed to it. With a <paramref name="dedupeKey"/> (e.g.
    /// <c>invoice.paid:in_…</c>) a retried step publishes once.
    /// </summary>
    Task PublishAsync(string type, string? customerId, object data, string? dedupeKey = null, CancellationToken cancellationToken = default);
}

/// <summary>Records events and schedules their deliveries as due work (kind <see cref="WebhookDeliveryHandler.WorkKind"/>).</summary>
public sealed class Notifier(NotificationStore store, IScheduleStore schedule, TimeProvider clock) : INotifier
{
    private static readonly JsonSerializerOptions Json = CreateJson();

    public async Task PublishAsync(string type, string? customerId, object data, string? dedupeKey = null, CancellationToken cancellationToken = default)
    {
        if (!EventTypes.All.Contains(type))
        {
            throw new ArgumentException($"Unknown event type '{type}'.", nameof(type));
        }

        var now = clock.GetUtcNow();
        var recorded = await store.RecordEventAsync(new BillingEvent
        {
            Id = Ids.New(BillingEvent.IdPrefix, now),
            Type = type,
            CustomerId = customerId,
            Data = JsonSerializer.Serialize(data, data.GetType(), Json),
            Created = now,
        }, dedupeKey, cancellationToken);
        if (recorded is null)
        {
            return;
        }

        foreach (var endpoint in (await store.EnabledEndpointsAsync(cancellationToken)).Where(e => EventTypes.Matches(e.EnabledEvents, type)))
        {
            var delivery = new WebhookDelivery
            {
                Id = Ids.New(WebhookDelivery.IdPrefix, now),
                EndpointId = endpoint.Id,
                EventId = recorded.Id,
                EventType = type,
                EventCreated = now,
                NextAttemptAt = now,
            };
            await store.CreateDeliveryAsync(delivery, cancellationToken);
            await schedule.ScheduleAsync(WebhookDeliveryHandler.Work(delivery, customerId, now), cancellationToken);
        }
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions();
        HttpConventions.Configure(options);
        return options;
    }
}

/// <summary>
/// Delivers one attempt of one event to one endpoint: POST of <c>{"id","type","created","data":{…}}</c> signed like
/// Stripe's webhooks — header <c>Billing-Signature: t={unix seconds},v1={hex HMAC-SHA256(secret, "{t}.{body}")}</c>.
/// A 2xx ends it; anything else schedules the next attempt with backoff, for up to 3 days.
/// </summary>
public sealed partial class WebhookDeliveryHandler(
    NotificationStore store,
    IScheduleStore schedule,
    IHttpClientFactory clients,
    IOptions<NotificationsOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliveryHandler> logger) : IWorkHandler
{
    public const string WorkKind = "webhook_delivery";
    public const string SignatureHeader = "Billing-Signature";

    public string Kind => WorkKind;

    public static DueWork Work(WebhookDelivery delivery, string? customerId, DateTimeOffset dueAt)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return new DueWork
        {
            Kind = WorkKind,
            CustomerId = customerId ?? "",
            TargetId = delivery.Id,
            ExpectedVersion = delivery.NextAttemptNumber,
            Detail = delivery.EndpointId,
            DueAt = dueAt,
        };
    }

    /// <summary>The signature header value for <paramref name="body"/> at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var payload = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + body);
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload))}";
    }

    public async Task HandleAsync(DueWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var loaded = await store.GetDeliveryAsync(work.Detail!, work.TargetId, cancellationToken);
        if (loaded is not { } row || row.Delivery.Status != DeliveryStatus.Pending || row.Delivery.NextAttemptNumber != work.ExpectedVersion)
        {
            return; // already attempted, finished or unknown: a stale or duplicate timer
        }

        var delivery = row.Delivery;
        var endpoint = await store.GetEndpointAsync(delivery.EndpointId, cancellationToken);
        var billingEvent = await store.GetEventAsync(delivery.EventId, cancellationToken);
        var now = clock.GetUtcNow();
        DeliveryAttempt attempt;
        if (endpoint is null || endpoint.Disabled || billingEvent is null)
        {
            attempt = new DeliveryAttempt(delivery.NextAttemptNumber, now, null, endpoint is null ? "endpoint deleted" : "endpoint disabled", 0);
            delivery = delivery.Record(attempt) with { Status = DeliveryStatus.Failed, NextAttemptAt = null };
        }
        else
        {
            attempt = await SendAsync(endpoint, billingEvent, delivery.NextAttemptNumber, cancellationToken);
            delivery = delivery.Record(attempt);
        }

        // Save the outcome with the ETag: if another instance recorded this attempt first, ours is dropped (a duplicate POST
        // the receiver de-duplicates by event id, as with Stripe).
        if (await store.TrySaveDeliveryAsync(delivery, row.ETag, cancellationToken) && delivery is { Status: DeliveryStatus.Pending, NextAttemptAt: { } next })
        {
            await schedule.ScheduleAsync(Work(delivery, work.CustomerId, next), cancellationToken);
        }

        LogAttempt(logger, delivery.EventId, delivery.EndpointId, attempt.Number, attempt.StatusCode ?? 0, delivery.Status);
    }

    private async Task<DeliveryAttempt> SendAsync(WebhookEndpoint endpoint, BillingEvent billingEvent, int number, CancellationToken cancellationToken)
    {
        var body = $$"""{"id":{{JsonSerializer.Serialize(billingEvent.Id)}},"object":"event","type":{{JsonSerializer.Serialize(billingEvent.Type)}},"created":{{JsonSerializer.Serialize(billingEvent.Created)}},"customer":{{JsonSerializer.Serialize(billingEvent.CustomerId)}},"data":{{billingEvent.Data}}}""";
        var started = Stopwatch.GetTimestamp();
        var now = clock.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(SignatureHeader, Sign(endpoint.Secret, now.ToUnixTimeSeconds(), body));
        request.Headers.Add("Billing-Event-Id", billingEvent.Id);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.DeliveryTimeout);
        try
        {
            using var response = await clients.CreateClient(nameof(WebhookDeliveryHandler)).SendAsync(request, timeout.Token);
            return new DeliveryAttempt(number, now, (int)response.StatusCode, null, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new DeliveryAttempt(number, now, null, e is OperationCanceledException ? "timeout" : "connection failed", (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} to {EndpointId}: attempt {Attempt} answered {Status}; delivery {DeliveryStatus}")]
    private static partial void LogAttempt(ILogger logger, string eventId, string endpointId, int attempt, int status, DeliveryStatus deliveryStatus);
}
