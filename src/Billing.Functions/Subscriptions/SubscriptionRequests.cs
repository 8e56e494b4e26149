using Billing.Domain.Subscriptions;

namespace Billing.Functions.Subscriptions;

/// <summary>An item of <c>POST /api/subscriptions</c>.</summary>
public sealed record SubscriptionItemRequest(string? Price, long? Quantity);

/// <summary>Body of <c>POST /api/subscriptions</c>.</summary>
public sealed record SubscriptionCreateRequest
{
    public string? Customer { get; init; }

    public IReadOnlyList<SubscriptionItemRequest>? Items { get; init; }

    public int? TrialPeriodDays { get; init; }

    public DateTimeOffset? TrialEnd { get; init; }

    /// <summary>Take the trial from the prices when none is given (default true).</summary>
    public bool? TrialFromPrice { get; init; }

    public DateTimeOffset? BillingCycleAnchor { get; init; }

    public ProrationBehavior? ProrationBehavior { get; init; }

    public IReadOnlyList<string>? DefaultTaxRates { get; init; }

    public string? Coupon { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>An item change: <c>id</c> null adds an item; otherwise changes price/quantity or removes it (<c>deleted</c>).</summary>
public sealed record SubscriptionItemUpdateRequest(string? Id, string? Price, long? Quantity, bool? Deleted);

/// <summary>Pausing collection on the wire.</summary>
public sealed record PauseCollectionRequest(PauseCollectionBehavior? Behavior, DateTimeOffset? ResumesAt);

/// <summary>Body of <c>PATCH /api/subscriptions/{id}</c>; fields left out are unchanged.</summary>
public sealed record SubscriptionUpdateRequest
{
    public IReadOnlyList<SubscriptionItemUpdateRequest>? Items { get; init; }

    public ProrationBehavior? ProrationBehavior { get; init; }

    /// <summary>The instant prorations are computed at (default now); send the one a preview used to get the same amounts.</summary>
    public DateTimeOffset? ProrationDate { get; init; }

    /// <summary>Apply the item changes at the end of the current period instead of now (e.g. a downgrade), without prorations.</summary>
    public bool? ChangeAtPeriodEnd { get; init; }

    public bool? CancelAtPeriodEnd { get; init; }

    public PauseCollectionRequest? PauseCollection { get; init; }

    public IReadOnlyList<string>? DefaultTaxRates { get; init; }

    public string? Coupon { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>Body of <c>POST /api/subscriptions/{id}/preview</c>.</summary>
public sealed record SubscriptionPreviewRequest
{
    public IReadOnlyList<SubscriptionItemUpdateRequest>? Items { get; init; }

    public ProrationBehavior? ProrationBehavior { get; init; }

    public DateTimeOffset? ProrationDate { get; init; }
}

/// <summary>Body of <c>POST /api/subscriptions/{id}/cancel</c>.</summary>
public sealed record SubscriptionCancelRequest(bool? Prorate, bool? InvoiceNow);
