using Billing.Domain.Catalog;
using Billing.Domain.Subscriptions;
using Billing.Functions.Invoices;
using Billing.Functions.Storage;

namespace Billing.Functions.Subscriptions;

/// <summary>The price of a subscription item as it was snapshotted.</summary>
public sealed record ItemPriceResponse(string Id, string Product, string Currency, long? UnitAmount, IntervalUnit Interval, int IntervalCount);

/// <summary>A subscription item on the wire.</summary>
public sealed record SubscriptionItemResponse(string Id, ItemPriceResponse Price, long Quantity, DateTimeOffset Created)
{
    public static SubscriptionItemResponse From(SubscriptionItem i)
    {
        ArgumentNullException.ThrowIfNull(i);
        return new(i.Id, new ItemPriceResponse(i.Price.Id, i.Price.ProductId, i.Price.Currency.ToLowerInvariant(), i.Price.UnitAmount, i.Price.Recurring.Unit, i.Price.Recurring.Count),
            i.Quantity, i.Created);
    }
}

/// <summary>What the scheduler does next, and when.</summary>
public sealed record NextActionResponse(string Kind, DateTimeOffset At);

/// <summary>A pending item change on the wire.</summary>
public sealed record ScheduledChangeResponse(DateTimeOffset EffectiveAt, IReadOnlyList<SubscriptionItemResponse> Items);

/// <summary>A subscription on the wire.</summary>
public sealed record SubscriptionResponse
{
    public string Object => "subscription";

    public required string Id { get; init; }

    public required string Customer { get; init; }

    public required SubscriptionStatus Status { get; init; }

    public required string Currency { get; init; }

    public required IReadOnlyList<SubscriptionItemResponse> Items { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset StartDate { get; init; }

    public DateTimeOffset BillingCycleAnchor { get; init; }

    public DateTimeOffset CurrentPeriodStart { get; init; }

    public DateTimeOffset CurrentPeriodEnd { get; init; }

    public DateTimeOffset? TrialStart { get; init; }

    public DateTimeOffset? TrialEnd { get; init; }

    public bool CancelAtPeriodEnd { get; init; }

    public DateTimeOffset? CancelAt { get; init; }

    public DateTimeOffset? CanceledAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public PauseCollection? PauseCollection { get; init; }

    public ScheduledChangeResponse? ScheduledChange { get; init; }

    public DiscountResponse? Discount { get; init; }

    public required IReadOnlyList<string> DefaultTaxRates { get; init; }

    public string? LatestInvoice { get; init; }

    /// <summary>The latest payment attempt of <see cref="LatestInvoice"/>: on <c>requires_action</c> it carries the client secret.</summary>
    public PaymentResponse? LatestPayment { get; init; }

    /// <summary>When the next paid period starts (renewal or trial end); null when the subscription will not renew.</summary>
    public DateTimeOffset? NextRenewalAt { get; init; }

    public NextActionResponse? NextAction { get; init; }

    /// <summary>The dunning of <see cref="LatestInvoice"/> (payment retries after a failed renewal); null when not in dunning.</summary>
    public DunningResponse? Dunning { get; init; }

    public int Version { get; init; }

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    public static SubscriptionResponse From(Subscription s, PaymentAttempt? latestPayment = null, Domain.Invoicing.DunningState? dunning = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        var next = s.NextAction();
        DateTimeOffset? renewal = s.IsTerminal || s.CancelAtPeriodEnd ? null
            : s.Status == SubscriptionStatus.Trialing ? s.TrialEnd
            : s.Status is SubscriptionStatus.Active or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid ? s.CurrentPeriodEnd
            : null;
        return new SubscriptionResponse
        {
            Id = s.Id,
            Customer = s.CustomerId,
            Status = s.Status,
            Currency = s.Currency.ToLowerInvariant(),
            Items = [.. s.Items.Select(SubscriptionItemResponse.From)],
            Created = s.Created,
            StartDate = s.StartDate,
            BillingCycleAnchor = s.BillingCycleAnchor,
            CurrentPeriodStart = s.CurrentPeriodStart,
            CurrentPeriodEnd = s.CurrentPeriodEnd,
            TrialStart = s.TrialStart,
            TrialEnd = s.TrialEnd,
            CancelAtPeriodEnd = s.CancelAtPeriodEnd,
            CancelAt = s.CancelAt,
            CanceledAt = s.CanceledAt,
            EndedAt = s.EndedAt,
            PauseCollection = s.PauseCollection,
            ScheduledChange = s.ScheduledChange is { } c ? new ScheduledChangeResponse(c.EffectiveAt, [.. c.Items.Select(SubscriptionItemResponse.From)]) : null,
            Discount = DiscountResponse.From(s.Discount),
            DefaultTaxRates = [.. s.DefaultTaxRates.Select(r => r.Id)],
            LatestInvoice = s.LatestInvoiceId,
            LatestPayment = PaymentResponse.From(latestPayment),
            NextRenewalAt = renewal is not null && next is { Kind: ScheduledActionKind.Renew or ScheduledActionKind.TrialEnd } ? next.At : renewal,
            NextAction = next is null ? null : new NextActionResponse(SubscriptionSchedule.KindName(next.Kind), next.At),
            Dunning = DunningResponse.From(dunning),
            Version = s.Version,
            Metadata = s.Metadata,
        };
    }
}

/// <summary>One history entry on the wire.</summary>
public sealed record HistoryEntryResponse(int Version, DateTimeOffset At, string Actor, string Action, IReadOnlyDictionary<string, FieldChange> Changes);

/// <summary>What a change would bill, computed without saving anything.</summary>
public sealed record ProrationPreviewResponse(string Subscription, DateTimeOffset ProrationDate, string Currency, IReadOnlyList<InvoiceLineResponse> Lines,
    long Subtotal, long TotalDiscount, long TotalTax, long Total, long AmountDue)
{
    public string Object => "proration_preview";
}
