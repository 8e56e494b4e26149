using Billing.Domain.Catalog;
using Billing.Domain.Invoicing;

namespace Billing.Domain.Subscriptions;

/// <summary>Stripe's subscription statuses; allowed moves are listed on <see cref="Subscription"/>.</summary>
public enum SubscriptionStatus
{
    /// <summary>Created; the first invoice is not paid yet (expires after 23 h).</summary>
    Incomplete,

    /// <summary>The first invoice was not paid within 23 h. Terminal.</summary>
    IncompleteExpired,

    /// <summary>In a free trial: nothing is billed until the trial ends.</summary>
    Trialing,

    /// <summary>In good standing: renews and bills in advance every period.</summary>
    Active,

    /// <summary>The latest renewal invoice failed; retries are running.</summary>
    PastDue,

    /// <summary>Retries exhausted; invoices keep being created but access should be revoked.</summary>
    Unpaid,

    /// <summary>Ended. Terminal.</summary>
    Canceled,

    /// <summary>The trial ended without a payment method; nothing is billed until resumed.</summary>
    Paused,
}

/// <summary>What a mid-period change does with the value of unused and remaining time.</summary>
public enum ProrationBehavior
{
    /// <summary>Create credit and charge items that wait for the next invoice.</summary>
    CreateProrations,

    /// <summary>Create the proration items and invoice them immediately.</summary>
    AlwaysInvoice,

    /// <summary>No proration: the new price applies from the next period.</summary>
    None,
}

/// <summary>What happens to invoices created while collection is paused (Stripe's <c>pause_collection.behavior</c>).</summary>
public enum PauseCollectionBehavior
{
    /// <summary>Invoices stay drafts, not finalized or charged.</summary>
    KeepAsDraft,

    /// <summary>Invoices are finalized and immediately marked uncollectible.</summary>
    MarkUncollectible,

    /// <summary>Invoices are finalized and immediately voided.</summary>
    Void,
}

/// <summary>Paused collection: the subscription stays in its status and renews, but invoices are handled per <see cref="Behavior"/> until <see cref="ResumesAt"/>.</summary>
public sealed record PauseCollection(PauseCollectionBehavior Behavior, DateTimeOffset? ResumesAt);

/// <summary>
/// The price data a subscription item is billed from, copied when the item is created so later catalog edits
/// or archiving never change what an existing subscription costs. <c>AmountFor(q)</c> is the full-period amount.
/// </summary>
public sealed record PriceSnapshot
{
    public required string Id { get; init; }

    public required string ProductId { get; init; }

    public required string ProductName { get; init; }

    /// <summary>Upper-case ISO 4217 code.</summary>
    public required string Currency { get; init; }

    public BillingScheme Scheme { get; init; }

    public TiersMode? TiersMode { get; init; }

    public long? UnitAmount { get; init; }

    public IReadOnlyList<PriceTier> Tiers { get; init; } = [];

    public required Recurrence Recurring { get; init; }

    public int? TrialPeriodDays { get; init; }

    /// <summary>Snapshots a recurring price; throws <see cref="DomainValidationException"/> for one-time or archived prices.</summary>
    public static PriceSnapshot From(Price price, Product product)
    {
        ArgumentNullException.ThrowIfNull(price);
        ArgumentNullException.ThrowIfNull(product);
        var errors = new ValidationErrors();
        errors.AddIf(price.Recurring is null, "price", $"Price '{price.Id}' is one-time; subscriptions need recurring prices.");
        errors.AddIf(!price.Active, "price", $"Price '{price.Id}' is archived.");
        errors.AddIf(!string.Equals(price.ProductId, product.Id, StringComparison.Ordinal), "price", "The product does not match the price.");
        errors.ThrowIfAny();
        return new PriceSnapshot
        {
            Id = price.Id,
            ProductId = product.Id,
            ProductName = product.Name,
            Currency = price.Currency.Code,
            Scheme = price.Scheme,
            TiersMode = price.TiersMode,
            UnitAmount = price.UnitAmount,
            Tiers = price.Tiers,
            Recurring = price.Recurring!,
            TrialPeriodDays = price.TrialPeriodDays,
        };
    }

    /// <summary>The amount for one full period at <paramref name="quantity"/> (see <see cref="Price.AmountFor"/>).</summary>
    public Money AmountFor(long quantity) => new Price
    {
        Id = Id,
        ProductId = ProductId,
        Currency = Domain.Currency.FromCode(Currency),
        Scheme = Scheme,
        TiersMode = TiersMode,
        UnitAmount = UnitAmount,
        Tiers = Tiers,
        Recurring = Recurring,
    }.AmountFor(quantity);

    /// <summary>Unit amount worth printing on a line: the per-unit or flat amount, null for tiers.</summary>
    internal long? DisplayUnitAmount => Scheme == BillingScheme.Tiered ? null : UnitAmount;
}

/// <summary>One priced line of a subscription: a price snapshot and a quantity, billed every period.</summary>
public sealed record SubscriptionItem
{
    public const string IdPrefix = "si";

    public required string Id { get; init; }

    public required PriceSnapshot Price { get; init; }

    public long Quantity { get; init; } = 1;

    /// <summary>When the item joined the subscription; it is billed for periods starting at or after this instant.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>Full-period amount: <c>Price.AmountFor(Quantity)</c>.</summary>
    public Money PeriodAmount() => Price.AmountFor(Quantity);
}

/// <summary>A price and quantity for a new subscription or a new item.</summary>
public sealed record SubscriptionItemInput(PriceSnapshot Price, long Quantity = 1);

/// <summary>
/// A change to a subscription's items: <see cref="ItemId"/> null adds an item (needs <see cref="Price"/>);
/// otherwise changes its price and/or quantity, or removes it when <see cref="Deleted"/>.
/// </summary>
public sealed record ItemUpdate
{
    public string? ItemId { get; init; }

    public PriceSnapshot? Price { get; init; }

    public long? Quantity { get; init; }

    public bool Deleted { get; init; }
}

/// <summary>Item changes that take effect at <see cref="EffectiveAt"/> (the end of the period when they were scheduled), e.g. a downgrade.</summary>
public sealed record ScheduledChange
{
    public required DateTimeOffset EffectiveAt { get; init; }

    /// <summary>The complete item list from <see cref="EffectiveAt"/> on.</summary>
    public required IReadOnlyList<SubscriptionItem> Items { get; init; }

    public DateTimeOffset Created { get; init; }
}

/// <summary>A field's value before and after a change, as text (ISO 8601 for instants).</summary>
public sealed record FieldChange(string? Before, string? After);

/// <summary>One audit entry: who did what when, the version it produced, and every field that changed.</summary>
public sealed record SubscriptionHistoryEntry
{
    public int Version { get; init; }

    public DateTimeOffset At { get; init; }

    public required string Actor { get; init; }

    /// <summary>Snake-case action name, e.g. <c>create</c>, <c>update_items</c>, <c>renew</c>, <c>cancel</c>.</summary>
    public required string Action { get; init; }

    public IReadOnlyDictionary<string, FieldChange> Changes { get; init; } = new Dictionary<string, FieldChange>(StringComparer.Ordinal);
}

/// <summary>
/// The outcome of a change: the new subscription, the proration items it made (signed; store them as pending invoice
/// items), and whether they must be invoiced right away (<see cref="ProrationBehavior.AlwaysInvoice"/>).
/// </summary>
public sealed record SubscriptionUpdateResult(Subscription Subscription, IReadOnlyList<PendingInvoiceItem> ProrationItems, bool InvoiceNow);

/// <summary>What a scheduler should do next for a subscription, and when.</summary>
public enum ScheduledActionKind
{
    /// <summary>The current period ends: renew (or end, when canceling at period end). Run <see cref="Renewal.Advance"/>.</summary>
    Renew,

    /// <summary>The trial ends: first paid period. Run <see cref="Renewal.Advance"/>.</summary>
    TrialEnd,

    /// <summary>Send <c>customer.subscription.trial_will_end</c>, 3 days before the trial ends; then call <see cref="Subscription.MarkTrialWillEndNotified"/>.</summary>
    TrialWillEnd,

    /// <summary>The first invoice is still unpaid 23 h after creation: call <see cref="Subscription.ExpireIncomplete"/>.</summary>
    IncompleteExpiry,

    /// <summary>Paused collection resumes: call <see cref="Subscription.ResumeCollection"/>.</summary>
    ResumeCollection,
}

/// <summary>The next due action: its kind, its time, and the subscription version it was computed from (ignore a timer whose version is stale).</summary>
public sealed record ScheduledAction(ScheduledActionKind Kind, DateTimeOffset At, int Version);

/// <summary>Well-known actor names for <see cref="SubscriptionHistoryEntry.Actor"/>.</summary>
public static class Actors
{
    public const string System = "system";

    public const string Scheduler = "scheduler";

    /// <summary>Payment retries after a failed collection and their outcome.</summary>
    public const string Dunning = "dunning";

    /// <summary>The dispute policy applied when a chargeback opens.</summary>
    public const string Dispute = "dispute";
}
