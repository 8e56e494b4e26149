namespace Billing.Domain.Notifications;

/// <summary>
/// Something the merchant cares about that happened in billing (<c>invoice.paid</c>, <c>customer.subscription.updated</c>,
/// …), recorded once and delivered to every subscribed endpoint. <see cref="Data"/> is the JSON of the object as the API
/// shows it.
/// </summary>
public sealed record BillingEvent
{
    public const string IdPrefix = "evt";

    public required string Id { get; init; }

    public required string Type { get; init; }

    public string? CustomerId { get; init; }

    public required string Data { get; init; }

    public DateTimeOffset Created { get; init; }
}

/// <summary>The event types merchants can subscribe to; <c>*</c> and <c>prefix.*</c> wildcards select several.</summary>
public static class EventTypes
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "customer.created", "customer.updated", "customer.deleted",
        "customer.discount.created", "customer.discount.updated", "customer.discount.deleted",
        "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
        "customer.subscription.paused", "customer.subscription.resumed", "customer.subscription.trial_will_end",
        "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required",
        "invoice.updated", "invoice.deleted", "invoice.voided", "invoice.marked_uncollectible",
        "credit_note.created", "credit_note.updated", "credit_note.voided",
        "payment.succeeded", "payment.failed", "payment.requires_action", "refund.created", "refund.updated",
        "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
        "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
        "dispute.evidence_reminder", "dispute.deadline_passed",
    };

    public static bool IsValidSelector(string selector) =>
        selector == "*" || All.Contains(selector) ||
        (selector.EndsWith(".*", StringComparison.Ordinal) && All.Any(t => t.StartsWith(selector[..^1], StringComparison.Ordinal)));

    public static bool Matches(IReadOnlyList<string> selectors, string type)
    {
        ArgumentNullException.ThrowIfNull(selectors);
        return selectors.Any(s => s == "*" || s == type || (s.EndsWith(".*", StringComparison.Ordinal) && type.StartsWith(s[..^1], StringComparison.Ordinal)));
    }
}

/// <summary>A merchant URL that receives signed events. The signing secret is shown once, at creation.</summary>
public sealed record WebhookEndpoint
{
    public const string IdPrefix = "we";

    public required string Id { get; init; }

    public required Uri Url { get; init; }

    public required IReadOnlyList<string> EnabledEvents { get; init; }

    public required string Secret { get; init; }

    public string? Description { get; init; }

    public bool Disabled { get; init; }

    public DateTimeOffset Created { get; init; }

    public static WebhookEndpoint Create(string id, string? url, IReadOnlyList<string>? enabledEvents, string? description, string secret, bool allowHttp, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        Uri? parsed = null;
        errors.AddIf(string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out parsed) ||
            !(parsed.Scheme == Uri.UriSchemeHttps || (allowHttp && parsed.Scheme == Uri.UriSchemeHttp)) || url.Length > 2048,
            "url", allowHttp ? "Must be an absolute http(s) URL." : "Must be an absolute https URL.");
        ValidateEvents(enabledEvents, errors);
        errors.AddIf(description is { Length: > 500 }, "description", "Must be at most 500 characters.");
        errors.ThrowIfAny();
        return new WebhookEndpoint { Id = id, Url = parsed!, EnabledEvents = enabledEvents!, Secret = secret, Description = description, Created = now };
    }

    public WebhookEndpoint Update(IReadOnlyList<string>? enabledEvents, bool? disabled, string? description)
    {
        var errors = new ValidationErrors();
        if (enabledEvents is not null)
        {
            ValidateEvents(enabledEvents, errors);
        }

        errors.AddIf(description is { Length: > 500 }, "description", "Must be at most 500 characters.");
        errors.ThrowIfAny();
        return this with { EnabledEvents = enabledEvents ?? EnabledEvents, Disabled = disabled ?? Disabled, Description = description ?? Description };
    }

    private static void ValidateEvents(IReadOnlyList<string>? events, ValidationErrors errors)
    {
        if (events is null || events.Count == 0)
        {
            errors.Add("enabled_events", "List at least one event type, or \"*\" for all.");
            return;
        }

        for (var i = 0; i < events.Count; i++)
        {
            errors.AddIf(events[i] is null || !EventTypes.IsValidSelector(events[i]), $"enabled_events[{i}]", "Unknown event type.");
        }
    }
}

/// <summary>Where a delivery stands.</summary>
public enum DeliveryStatus
{
    Pending,
    Succeeded,
    Failed,
}

/// <summary>One try to deliver an event to an endpoint.</summary>
public sealed record DeliveryAttempt(int Number, DateTimeOffset At, int? StatusCode, string? Error, long DurationMs);

/// <summary>
/// Getting one event to one endpoint: tried at once, then retried with growing delays (1 min, 5 min, 30 min, 2 h, 5 h,
/// then every 10 h) until it succeeds or <see cref="RetryWindow"/> (3 days, like Stripe) has passed since the event.
/// </summary>
public sealed record WebhookDelivery
{
    public const string IdPrefix = "whd";

    public static readonly TimeSpan RetryWindow = TimeSpan.FromDays(3);

    private static readonly TimeSpan[] Backoff =
    [
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
    ];

    public required string Id { get; init; }

    public required string EndpointId { get; init; }

    public required string EventId { get; init; }

    public required string EventType { get; init; }

    public DateTimeOffset EventCreated { get; init; }

    public DeliveryStatus Status { get; init; }

    public IReadOnlyList<DeliveryAttempt> Attempts { get; init; } = [];

    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The number of the next attempt (1-based).</summary>
    public int NextAttemptNumber => Attempts.Count + 1;

    public static TimeSpan DelayAfter(int attempt) => attempt <= Backoff.Length ? Backoff[attempt - 1] : TimeSpan.FromHours(10);

    /// <summary>Records an attempt's outcome and decides what follows: done, another try, or given up.</summary>
    public WebhookDelivery Record(DeliveryAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        var attempts = Attempts.Append(attempt).ToList();
        if (attempt.StatusCode is >= 200 and < 300)
        {
            return this with { Attempts = attempts, Status = DeliveryStatus.Succeeded, NextAttemptAt = null };
        }

        var next = attempt.At + DelayAfter(attempt.Number);
        return next - EventCreated > RetryWindow
            ? this with { Attempts = attempts, Status = DeliveryStatus.Failed, NextAttemptAt = null }
            : this with { Attempts = attempts, NextAttemptAt = next };
    }
}
