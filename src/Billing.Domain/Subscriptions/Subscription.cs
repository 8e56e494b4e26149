using System.Globalization;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;

namespace Billing.Domain.Subscriptions;

/// <summary>
/// A customer's recurring purchase of one or more prices, billed in advance for each period <c>[start, end)</c> of a
/// billing cycle anchored at <see cref="BillingCycleAnchor"/> (see <see cref="BillingPeriods"/>). Every change returns a
/// new value with <see cref="Version"/> + 1 and a <see cref="History"/> entry (actor, time, action, before/after of the
/// changed fields); the input is never modified.
/// </summary>
/// <remarks>
/// <para><b>Status transitions</b> (Stripe's; anything else throws <see cref="InvalidStateException"/>):</para>
/// <code>
/// incomplete  → active (first invoice paid) | incomplete_expired (unpaid after 23 h) | canceled
/// trialing    → active (trial ended)        | past_due (trial-end invoice failed)   | paused (trial ended without
///               a payment method)           | canceled
/// active      → past_due (renewal failed)   | canceled
/// past_due    → active (paid)               | unpaid (retries exhausted)            | canceled
/// unpaid      → active (paid)               | canceled
/// paused      → active (resumed)            | canceled
/// canceled, incomplete_expired: terminal
/// </code>
/// <para>All items share one currency and one recurrence. Trials are free: nothing is billed or prorated before
/// <see cref="TrialEnd"/>, and the cycle is anchored at the trial end unless an anchor is given.</para>
/// </remarks>
public sealed record Subscription
{
    public const string IdPrefix = "sub";

    /// <summary>How long an <c>incomplete</c> subscription waits for its first payment.</summary>
    public static readonly TimeSpan IncompleteExpiry = TimeSpan.FromHours(23);

    /// <summary>How long before the trial end <c>trial_will_end</c> is due.</summary>
    public static readonly TimeSpan TrialWillEndNotice = TimeSpan.FromDays(3);

    public const int MaxItems = 20;

    private static readonly Dictionary<SubscriptionStatus, SubscriptionStatus[]> Transitions = new()
    {
        [SubscriptionStatus.Incomplete] = [SubscriptionStatus.Active, SubscriptionStatus.IncompleteExpired, SubscriptionStatus.Canceled],
        [SubscriptionStatus.Trialing] = [SubscriptionStatus.Active, SubscriptionStatus.PastDue, SubscriptionStatus.Paused, SubscriptionStatus.Canceled],
        [SubscriptionStatus.Active] = [SubscriptionStatus.PastDue, SubscriptionStatus.Canceled],
        [SubscriptionStatus.PastDue] = [SubscriptionStatus.Active, SubscriptionStatus.Unpaid, SubscriptionStatus.Canceled],
        [SubscriptionStatus.Unpaid] = [SubscriptionStatus.Active, SubscriptionStatus.Canceled],
        [SubscriptionStatus.Paused] = [SubscriptionStatus.Active, SubscriptionStatus.Canceled],
        [SubscriptionStatus.Canceled] = [],
        [SubscriptionStatus.IncompleteExpired] = [],
    };

    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    /// <summary>Upper-case ISO 4217 code shared by all items.</summary>
    public required string Currency { get; init; }

    public SubscriptionStatus Status { get; init; }

    public required IReadOnlyList<SubscriptionItem> Items { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset StartDate { get; init; }

    /// <summary>The instant every period boundary is computed from.</summary>
    public DateTimeOffset BillingCycleAnchor { get; init; }

    public DateTimeOffset CurrentPeriodStart { get; init; }

    public DateTimeOffset CurrentPeriodEnd { get; init; }

    /// <summary>A shorter first period <c>[billing start, anchor)</c>, billed at <c>amount × its seconds / the full cycle period's seconds</c>; null when none.</summary>
    public BillingPeriod? PartialFirstPeriod { get; init; }

    public DateTimeOffset? TrialStart { get; init; }

    public DateTimeOffset? TrialEnd { get; init; }

    public bool TrialWillEndNotified { get; init; }

    public bool CancelAtPeriodEnd { get; init; }

    /// <summary>When the subscription will end (the period end) while <see cref="CancelAtPeriodEnd"/> is set.</summary>
    public DateTimeOffset? CancelAt { get; init; }

    /// <summary>When cancellation was requested (immediately or at period end).</summary>
    public DateTimeOffset? CanceledAt { get; init; }

    /// <summary>When the subscription stopped (canceled or expired).</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public PauseCollection? PauseCollection { get; init; }

    /// <summary>Item changes waiting for the period end (e.g. a downgrade).</summary>
    public ScheduledChange? ScheduledChange { get; init; }

    /// <summary>A coupon applied to this subscription; wins over the customer's discount.</summary>
    public Discount? Discount { get; init; }

    /// <summary>Tax rates for this subscription's lines.</summary>
    public IReadOnlyList<TaxRate> DefaultTaxRates { get; init; } = [];

    public string? LatestInvoiceId { get; init; }

    /// <summary>
    /// The cycle periods already on one of this subscription's invoices (each item × period start, see
    /// <see cref="InvoicedItem"/>), kept with the subscription and written in the same transaction as every invoice made
    /// for it (subscription invoices are never deleted, only voided, and a voided period stays invoiced). A renewal reads
    /// what was billed from here instead of listing the invoices. Null for a subscription stored before the ledger
    /// existed: its invoices are then listed.
    /// </summary>
    public IReadOnlyList<InvoicedItem>? Invoiced { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    /// <summary>Incremented by every change; timers carry the version they were set for and are ignored when stale.</summary>
    public int Version { get; init; }

    public IReadOnlyList<SubscriptionHistoryEntry> History { get; init; } = [];

    /// <summary>The billing interval shared by all items.</summary>
    public Catalog.Recurrence Interval() => Items[0].Price.Recurring;

    /// <summary>The current period as a value.</summary>
    public BillingPeriod CurrentPeriod() => new(CurrentPeriodStart, CurrentPeriodEnd);

    public bool IsTerminal => Status is SubscriptionStatus.Canceled or SubscriptionStatus.IncompleteExpired;

    /// <summary>True when <c>t</c> lies before the trial end (nothing billed, nothing prorated).</summary>
    public bool InTrialAt(DateTimeOffset t) => TrialEnd is { } end && t < end;

    /// <summary>True when <paramref name="from"/> → <paramref name="to"/> is one of Stripe's transitions (see the table on the type).</summary>
    public static bool CanTransition(SubscriptionStatus from, SubscriptionStatus to) => Transitions[from].Contains(to);

    // ---------------------------------------------------------------- creation

    /// <summary>
    /// Starts a subscription at <paramref name="now"/>. Trial: <c>trial_end</c>, else <c>trial_period_days</c>, else (when
    /// <c>TrialFromPrice</c>) the longest price trial. With a trial the status is <c>trialing</c>, the first period is
    /// <c>[now, trial_end)</c> and the anchor defaults to the trial end. Without one the status is <c>incomplete</c>
    /// until the first invoice is paid, and the anchor defaults to now; an anchor later than the billing start makes a
    /// prorated partial first period (unless proration is <c>none</c>, then that stretch is free).
    /// </summary>
    public static Subscription Create(SubscriptionCreateInput input, Customer customer, string id, DateTimeOffset now, string actor = Actors.System)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(customer);
        customer.EnsureCanBeCharged();
        var errors = new ValidationErrors();
        errors.AddIf(!string.Equals(input.CustomerId, customer.Id, StringComparison.Ordinal), "customer", "Does not match the customer given.");
        errors.AddIf(input.Items is null || input.Items.Count == 0, "items", "At least one item is required.");
        if (input.Items is null || input.Items.Count == 0)
        {
            errors.ThrowIfAny();
        }

        var items = input.Items!.Select(i => new SubscriptionItem { Id = Ids.New(SubscriptionItem.IdPrefix, now), Price = i.Price, Quantity = i.Quantity, Created = now }).ToList();
        ValidateItems(items, errors, null);
        errors.AddIf(input.TrialEnd is { } te && (te <= now || te > now.AddDays(730)), "trial_end", "Must be in the future and at most 730 days ahead.");
        errors.AddIf(input.TrialPeriodDays is < 1 or > 730, "trial_period_days", "Must be between 1 and 730.");
        errors.AddIf(input.BillingCycleAnchor is { } ba && (ba < now || ba > now.AddYears(3)), "billing_cycle_anchor", "Must not be in the past, nor more than three years ahead.");
        errors.ThrowIfAny();

        var trialDays = input.TrialPeriodDays ?? (input.TrialFromPrice ? items.Max(i => i.Price.TrialPeriodDays) : null);
        var trialEnd = input.TrialEnd ?? (trialDays is { } days ? now.AddDays(days) : null);
        var billingStart = trialEnd ?? now;
        var anchor = input.BillingCycleAnchor ?? billingStart;
        var recurrence = items[0].Price.Recurring;
        var errors2 = new ValidationErrors();
        errors2.AddIf(anchor < billingStart, "billing_cycle_anchor", "Must not be before the trial end.");
        errors2.AddIf(anchor >= BillingPeriods.Boundary(billingStart, recurrence, 1), "billing_cycle_anchor", "Must be within one billing interval of the billing start.");
        errors2.ThrowIfAny();

        var partial = anchor > billingStart && input.ProrationBehavior != ProrationBehavior.None ? new BillingPeriod(billingStart, anchor) : null;
        var period = trialEnd is { } end ? new BillingPeriod(now, end)
            : anchor > now ? new BillingPeriod(now, anchor)
            : BillingPeriods.PeriodContaining(anchor, recurrence, now);
        var created = new Subscription
        {
            Id = id,
            CustomerId = customer.Id,
            Currency = items[0].Price.Currency,
            Status = trialEnd is null ? SubscriptionStatus.Incomplete : SubscriptionStatus.Trialing,
            Items = items,
            Created = now,
            StartDate = now,
            BillingCycleAnchor = anchor,
            CurrentPeriodStart = period.Start,
            CurrentPeriodEnd = period.End,
            PartialFirstPeriod = partial,
            TrialStart = trialEnd is null ? null : now,
            TrialEnd = trialEnd,
            DefaultTaxRates = input.DefaultTaxRates ?? [],
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            Invoiced = [],
        };
        return Commit(null, created, "create", now, actor);
    }

    // ---------------------------------------------------------------- payment-driven status

    /// <summary>The first or latest invoice was paid: incomplete / past_due / unpaid → active. No change when already active or trialing.</summary>
    public Subscription MarkPaymentSucceeded(DateTimeOffset now, string actor = Actors.System) =>
        Status is SubscriptionStatus.Active or SubscriptionStatus.Trialing ? this
            : Move(SubscriptionStatus.Active, "payment_succeeded", now, actor);

    /// <summary>A renewal (or trial-end) invoice failed: active / trialing → past_due. No change when already incomplete, past_due or unpaid.</summary>
    public Subscription MarkPaymentFailed(DateTimeOffset now, string actor = Actors.System) =>
        Status is SubscriptionStatus.Incomplete or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid ? this
            : Move(SubscriptionStatus.PastDue, "payment_failed", now, actor);

    /// <summary>Retries exhausted: past_due → unpaid.</summary>
    public Subscription MarkUnpaid(DateTimeOffset now, string actor = Actors.System) => Move(SubscriptionStatus.Unpaid, "mark_unpaid", now, actor);

    /// <summary>incomplete → incomplete_expired once 23 h have passed since creation without payment.</summary>
    public Subscription ExpireIncomplete(DateTimeOffset now, string actor = Actors.Scheduler)
    {
        if (Status == SubscriptionStatus.Incomplete && now < Created + IncompleteExpiry)
        {
            throw new InvalidStateException($"Subscription '{Id}' can only expire 23 hours after creation ({(Created + IncompleteExpiry):O}).");
        }

        EnsureTransition(SubscriptionStatus.IncompleteExpired);
        return Commit(this, this with { Status = SubscriptionStatus.IncompleteExpired, EndedAt = now }, "expire_incomplete", now, actor);
    }

    /// <summary>The trial ended without a payment method: trialing → paused (nothing billed until <see cref="Resume"/>).</summary>
    public Subscription Pause(DateTimeOffset now, string actor = Actors.System)
    {
        EnsureTransition(SubscriptionStatus.Paused);
        if (TrialEnd is { } end && now < end)
        {
            throw new InvalidStateException($"Subscription '{Id}' can only be paused when its trial ends.");
        }

        return Commit(this, this with { Status = SubscriptionStatus.Paused }, "pause", now, actor);
    }

    /// <summary>paused → active: the cycle is re-anchored at <paramref name="now"/> and the period <c>[now, now + interval)</c> is due at once.</summary>
    public Subscription Resume(DateTimeOffset now, string actor = Actors.System)
    {
        EnsureTransition(SubscriptionStatus.Active);
        if (Status != SubscriptionStatus.Paused)
        {
            throw new InvalidStateException($"Subscription '{Id}' is {Status}, not paused.");
        }

        var period = BillingPeriods.Period(now, Interval(), 0);
        return Commit(this, this with
        {
            Status = SubscriptionStatus.Active,
            BillingCycleAnchor = now,
            CurrentPeriodStart = period.Start,
            CurrentPeriodEnd = period.End,
            PartialFirstPeriod = null,
        }, "resume", now, actor);
    }

    // ---------------------------------------------------------------- cancellation

    /// <summary>
    /// Sets (<c>true</c>) or undoes (<c>false</c>) cancel_at_period_end. When set, the subscription ends at
    /// <see cref="CurrentPeriodEnd"/> instead of renewing (<see cref="Renewal.Advance"/>) and no further period is billed;
    /// <see cref="CanceledAt"/> records the request time.
    /// </summary>
    public Subscription SetCancelAtPeriodEnd(bool cancel, DateTimeOffset now, string actor = Actors.System)
    {
        EnsureNotTerminal();
        if (cancel == CancelAtPeriodEnd)
        {
            return this;
        }

        var next = cancel
            ? this with { CancelAtPeriodEnd = true, CancelAt = CurrentPeriodEnd, CanceledAt = now }
            : this with { CancelAtPeriodEnd = false, CancelAt = null, CanceledAt = null };
        return Commit(this, next, cancel ? "cancel_at_period_end" : "undo_cancel_at_period_end", now, actor);
    }

    /// <summary>
    /// Cancels now: status canceled, <see cref="EndedAt"/> = now. With <paramref name="prorate"/> (and a paid, non-trial
    /// period) each item gets a credit <c>−round(amount × (end − now) / (end − start))</c> for its unused time; with
    /// <paramref name="invoiceNow"/> those credits should be invoiced right away (the negative total goes to the
    /// customer's credit balance).
    /// </summary>
    public SubscriptionUpdateResult CancelNow(DateTimeOffset now, string actor = Actors.System, bool prorate = false, bool invoiceNow = false)
    {
        EnsureTransition(SubscriptionStatus.Canceled);
        var credits = new List<PendingInvoiceItem>();
        if (prorate && Status is SubscriptionStatus.Active or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid && !InTrialAt(now) && now < CurrentPeriodEnd)
        {
            var period = ProrationPeriod(now);
            foreach (var item in Items)
            {
                credits.AddRange(Proration.ForItem(CustomerId, Id, item, null, period, now));
            }
        }

        var next = Commit(this, this with
        {
            Status = SubscriptionStatus.Canceled,
            CanceledAt = CanceledAt ?? now,
            EndedAt = now,
            CancelAtPeriodEnd = false,
            CancelAt = null,
            PauseCollection = null,
            ScheduledChange = null,
        }, "cancel", now, actor);
        return new SubscriptionUpdateResult(next, credits, invoiceNow && credits.Count > 0);
    }

    // ---------------------------------------------------------------- collection pause, trial, discount

    /// <summary>Pauses collection: the subscription keeps renewing, invoices are handled per <paramref name="behavior"/> until <paramref name="resumesAt"/> (or <see cref="ResumeCollection"/>).</summary>
    public Subscription PauseCollectionWith(PauseCollectionBehavior behavior, DateTimeOffset? resumesAt, DateTimeOffset now, string actor = Actors.System)
    {
        EnsureNotTerminal();
        if (resumesAt is { } at && at <= now)
        {
            throw DomainValidationException.For("pause_collection.resumes_at", "Must be in the future.");
        }

        return Commit(this, this with { PauseCollection = new PauseCollection(behavior, resumesAt) }, "pause_collection", now, actor);
    }

    /// <summary>Ends a collection pause; no change when collection is not paused.</summary>
    public Subscription ResumeCollection(DateTimeOffset now, string actor = Actors.System) =>
        PauseCollection is null ? this : Commit(this, this with { PauseCollection = null }, "resume_collection", now, actor);

    /// <summary>Moves the end of a running trial (re-anchoring the cycle at the new trial end).</summary>
    public Subscription ExtendTrial(DateTimeOffset trialEnd, DateTimeOffset now, string actor = Actors.System)
    {
        if (Status != SubscriptionStatus.Trialing)
        {
            throw new InvalidStateException($"Subscription '{Id}' is {Status}; only a trial can be extended.");
        }

        if (trialEnd <= now)
        {
            throw DomainValidationException.For("trial_end", "Must be in the future.");
        }

        return Commit(this, this with
        {
            TrialEnd = trialEnd,
            BillingCycleAnchor = trialEnd,
            CurrentPeriodEnd = trialEnd,
            PartialFirstPeriod = null,
            TrialWillEndNotified = false,
            CancelAt = CancelAtPeriodEnd ? trialEnd : CancelAt,
        }, "extend_trial", now, actor);
    }

    /// <summary>Records that <c>trial_will_end</c> was sent, so <see cref="NextAction"/> moves on to the trial end.</summary>
    public Subscription MarkTrialWillEndNotified(DateTimeOffset now, string actor = Actors.Scheduler) =>
        TrialWillEndNotified ? this : Commit(this, this with { TrialWillEndNotified = true }, "trial_will_end_notified", now, actor);

    /// <summary>Attaches a discount (replacing any previous one) or removes it (<c>null</c>).</summary>
    public Subscription SetDiscount(Discount? discount, DateTimeOffset now, string actor = Actors.System)
    {
        EnsureNotTerminal();
        if (discount is not null && !string.Equals(discount.SubscriptionId, Id, StringComparison.Ordinal))
        {
            throw DomainValidationException.For("discount", "The discount belongs to another subscription.");
        }

        return Commit(this, this with { Discount = discount }, discount is null ? "remove_discount" : "apply_discount", now, actor);
    }

    /// <summary>Merges merchant metadata (an empty value removes a key); no change when nothing is given.</summary>
    public Subscription UpdateMetadata(IReadOnlyDictionary<string, string>? update, DateTimeOffset now, string actor = Actors.System)
    {
        if (update is null || update.Count == 0)
        {
            return this;
        }

        var errors = new ValidationErrors();
        Domain.Metadata.Validate(update, errors);
        var merged = Domain.Metadata.Merge(Metadata, update);
        errors.AddIf(merged.Count > Domain.Metadata.MaxKeys, "metadata", $"At most {Domain.Metadata.MaxKeys} keys are allowed.");
        errors.ThrowIfAny();
        return Commit(this, this with { Metadata = merged }, "update_metadata", now, actor);
    }

    /// <summary>Replaces the tax rates applied to this subscription's future lines (issued invoices keep theirs).</summary>
    public Subscription SetDefaultTaxRates(IReadOnlyList<TaxRate> rates, DateTimeOffset now, string actor = Actors.System)
    {
        ArgumentNullException.ThrowIfNull(rates);
        EnsureNotTerminal();
        return Commit(this, this with { DefaultTaxRates = rates }, "update_default_tax_rates", now, actor);
    }

    /// <summary>Replaces the discount with its redemption-updated copy after an invoice used it (no history entry for bookkeeping alone).</summary>
    public Subscription WithDiscountUsage(Discount? updated) =>
        updated is not null && Discount is not null && string.Equals(updated.Id, Discount.Id, StringComparison.Ordinal) ? this with { Discount = updated } : this;

    /// <summary>
    /// Records a new invoice of this subscription as the latest and its cycle lines in <see cref="Invoiced"/>
    /// (bookkeeping: version + 1, no status change).
    /// </summary>
    public Subscription WithLatestInvoice(Invoice invoice, DateTimeOffset now, string actor = Actors.System)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        var billed = invoice.Lines.Where(l => l is { Kind: InvoiceLineKind.Subscription, SubscriptionItemId: not null }).Select(InvoicedItem.From);
        return Commit(this, this with { LatestInvoiceId = invoice.Id, Invoiced = Invoiced is null ? null : [.. Invoiced, .. billed] }, "invoice_created", now, actor);
    }

    // ---------------------------------------------------------------- item changes

    /// <summary>
    /// Upgrades/downgrades now: applies <paramref name="updates"/> (price, quantity, add, remove) and, unless the
    /// behavior is <c>none</c> or the change falls in the trial, returns proration items for <c>[t, period end)</c> with
    /// <c>t = prorationDate ?? now</c> (see <see cref="Proration"/>). <c>always_invoice</c> sets
    /// <see cref="SubscriptionUpdateResult.InvoiceNow"/>. The current period's subscription lines stay as invoiced; the
    /// new items bill in full from the next period.
    /// </summary>
    public SubscriptionUpdateResult ChangeItems(IReadOnlyList<ItemUpdate> updates, ProrationBehavior behavior, DateTimeOffset now,
        string actor = Actors.System, DateTimeOffset? prorationDate = null)
    {
        EnsureNotTerminal();
        if (ScheduledChange is not null)
        {
            throw new InvalidStateException($"Subscription '{Id}' has a change scheduled at {ScheduledChange.EffectiveAt:O}; cancel it first.");
        }

        if (prorationDate is { } requested && (requested < CurrentPeriodStart || requested > CurrentPeriodEnd))
        {
            throw DomainValidationException.For("proration_date", "Must fall within the current billing period.");
        }

        var (items, pairs) = ApplyUpdates(updates, now);
        var t = prorationDate ?? now;
        var prorations = new List<PendingInvoiceItem>();
        if (behavior != ProrationBehavior.None && Status != SubscriptionStatus.Trialing && Status != SubscriptionStatus.Paused && !InTrialAt(t)
            && t >= CurrentPeriodStart && t < CurrentPeriodEnd)
        {
            var period = ProrationPeriod(t);
            foreach (var (before, after) in pairs)
            {
                prorations.AddRange(Proration.ForItem(CustomerId, Id, before, after, period, t));
            }
        }

        var next = Commit(this, this with { Items = items }, "update_items", now, actor);
        return new SubscriptionUpdateResult(next, prorations, behavior == ProrationBehavior.AlwaysInvoice && prorations.Count > 0);
    }

    /// <summary>The proration items <see cref="ChangeItems"/> would create, without changing anything.</summary>
    public IReadOnlyList<PendingInvoiceItem> PreviewChange(IReadOnlyList<ItemUpdate> updates, ProrationBehavior behavior, DateTimeOffset now, DateTimeOffset? prorationDate = null) =>
        ChangeItems(updates, behavior, now, Actors.System, prorationDate).ProrationItems;

    /// <summary>Schedules <paramref name="updates"/> for the end of the current period (a downgrade without proration); renewal applies it.</summary>
    public Subscription ScheduleChangeAtPeriodEnd(IReadOnlyList<ItemUpdate> updates, DateTimeOffset now, string actor = Actors.System)
    {
        EnsureNotTerminal();
        var (items, _) = ApplyUpdates(updates, CurrentPeriodEnd);
        return Commit(this, this with { ScheduledChange = new ScheduledChange { EffectiveAt = CurrentPeriodEnd, Items = items, Created = now } }, "schedule_change", now, actor);
    }

    /// <summary>Drops a scheduled change; no change when none is scheduled.</summary>
    public Subscription CancelScheduledChange(DateTimeOffset now, string actor = Actors.System) =>
        ScheduledChange is null ? this : Commit(this, this with { ScheduledChange = null }, "cancel_scheduled_change", now, actor);

    /// <summary>The items billed for a period starting at <paramref name="periodStart"/> (the scheduled items once it takes effect).</summary>
    public IReadOnlyList<SubscriptionItem> ItemsFor(DateTimeOffset periodStart) =>
        ScheduledChange is { } change && periodStart >= change.EffectiveAt ? change.Items : Items;

    // ---------------------------------------------------------------- scheduling

    /// <summary>
    /// The earliest thing a scheduler must do: incomplete expiry (created + 23 h), trial_will_end (trial end − 3 days,
    /// not before the trial start), trial end, renewal at period end, or resuming a paused collection. Null for terminal
    /// or paused subscriptions.
    /// </summary>
    public ScheduledAction? NextAction()
    {
        var candidates = new List<ScheduledAction>();
        switch (Status)
        {
            case SubscriptionStatus.Incomplete:
                candidates.Add(new(ScheduledActionKind.IncompleteExpiry, Created + IncompleteExpiry, Version));
                break;
            case SubscriptionStatus.Trialing when TrialEnd is { } end:
                if (!TrialWillEndNotified)
                {
                    var notice = end - TrialWillEndNotice;
                    candidates.Add(new(ScheduledActionKind.TrialWillEnd, TrialStart is { } s && notice < s ? s : notice, Version));
                }

                candidates.Add(new(ScheduledActionKind.TrialEnd, end, Version));
                break;
            case SubscriptionStatus.Active or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid:
                candidates.Add(new(ScheduledActionKind.Renew, CurrentPeriodEnd, Version));
                break;
        }

        if (!IsTerminal && PauseCollection?.ResumesAt is { } resumes)
        {
            candidates.Add(new(ScheduledActionKind.ResumeCollection, resumes, Version));
        }

        return candidates.OrderBy(c => c.At).FirstOrDefault();
    }

    /// <summary>When the next thing is due (see <see cref="NextAction"/>), for a scheduler index.</summary>
    public DateTimeOffset? NextActionAt => NextAction()?.At;

    // ---------------------------------------------------------------- internals

    internal BillingPeriod ProrationPeriod(DateTimeOffset t)
    {
        var full = BillingPeriods.PeriodContaining(BillingCycleAnchor, Interval(), t);
        return full.End == CurrentPeriodEnd ? full : new BillingPeriod(CurrentPeriodStart, CurrentPeriodEnd);
    }

    internal Subscription Move(SubscriptionStatus to, string action, DateTimeOffset now, string actor)
    {
        EnsureTransition(to);
        return Commit(this, this with { Status = to }, action, now, actor);
    }

    internal void EnsureTransition(SubscriptionStatus to)
    {
        if (!CanTransition(Status, to))
        {
            throw new InvalidStateException($"Subscription '{Id}' cannot go from {Wire(Status)} to {Wire(to)}.", "invalid_status_transition");
        }
    }

    private void EnsureNotTerminal()
    {
        if (IsTerminal)
        {
            throw new InvalidStateException($"Subscription '{Id}' is {Wire(Status)} and cannot be changed.", "subscription_ended");
        }
    }

    private (List<SubscriptionItem> Items, List<(SubscriptionItem? Before, SubscriptionItem? After)> Pairs) ApplyUpdates(IReadOnlyList<ItemUpdate> updates, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var errors = new ValidationErrors();
        errors.AddIf(updates.Count == 0, "items", "At least one item change is required.");
        var items = Items.ToList();
        var pairs = new List<(SubscriptionItem?, SubscriptionItem?)>();
        for (var i = 0; i < updates.Count; i++)
        {
            var update = updates[i];
            errors.AddIf(update.Quantity is < 0, $"items[{i}].quantity", "Must not be negative.");
            if (update.ItemId is null)
            {
                if (update.Price is null)
                {
                    errors.Add($"items[{i}].price", "A new item needs a price.");
                    continue;
                }

                var added = new SubscriptionItem { Id = Ids.New(SubscriptionItem.IdPrefix, createdAt), Price = update.Price, Quantity = update.Quantity ?? 1, Created = createdAt };
                items.Add(added);
                pairs.Add((null, added));
                continue;
            }

            var index = items.FindIndex(x => string.Equals(x.Id, update.ItemId, StringComparison.Ordinal));
            if (index < 0)
            {
                throw new NotFoundException("subscription_item", update.ItemId);
            }

            var before = items[index];
            if (update.Deleted)
            {
                items.RemoveAt(index);
                pairs.Add((before, null));
                continue;
            }

            var after = before with { Price = update.Price ?? before.Price, Quantity = update.Quantity ?? before.Quantity };
            items[index] = after;
            pairs.Add((before, after));
        }

        ValidateItems(items, errors, Items.Count > 0 ? Items[0].Price : null);
        errors.ThrowIfAny();
        return (items, pairs);
    }

    private static void ValidateItems(List<SubscriptionItem> items, ValidationErrors errors, PriceSnapshot? current)
    {
        errors.AddIf(items.Count == 0, "items", "A subscription needs at least one item.");
        errors.AddIf(items.Count > MaxItems, "items", $"At most {MaxItems} items are allowed.");
        errors.AddIf(items.Any(i => i.Quantity < 0), "items.quantity", "Must not be negative.");
        if (items.Count == 0)
        {
            return;
        }

        errors.AddIf(items.Any(i => !string.Equals(i.Price.Currency, items[0].Price.Currency, StringComparison.Ordinal)), "items", "All items must share one currency.");
        errors.AddIf(items.Any(i => i.Price.Recurring != items[0].Price.Recurring), "items", "All items must share one billing interval.");
        errors.AddIf(items.GroupBy(i => i.Price.Id, StringComparer.Ordinal).Any(g => g.Count() > 1), "items", "A price may appear only once.");
        if (current is not null)
        {
            errors.AddIf(!string.Equals(items[0].Price.Currency, current.Currency, StringComparison.Ordinal), "items", "The currency of a subscription cannot change.");
            errors.AddIf(items[0].Price.Recurring != current.Recurring, "items", "Changing the billing interval is not supported; create a new subscription.");
        }
    }

    internal static Subscription Commit(Subscription? before, Subscription after, string action, DateTimeOffset now, string actor)
    {
        var old = before?.Snapshot() ?? new Dictionary<string, string?>(StringComparer.Ordinal);
        var changes = new Dictionary<string, FieldChange>(StringComparer.Ordinal);
        foreach (var (field, value) in after.Snapshot())
        {
            old.TryGetValue(field, out var previous);
            if (!string.Equals(previous, value, StringComparison.Ordinal))
            {
                changes[field] = new FieldChange(previous, value);
            }
        }

        var version = (before?.Version ?? 0) + 1;
        var entry = new SubscriptionHistoryEntry { Version = version, At = now, Actor = string.IsNullOrWhiteSpace(actor) ? Actors.System : actor, Action = action, Changes = changes };
        return after with { Version = version, History = [.. before?.History ?? [], entry] };
    }

    private Dictionary<string, string?> Snapshot() => new(StringComparer.Ordinal)
    {
        ["status"] = Wire(Status),
        ["items"] = string.Join("; ", Items.Select(i => $"{i.Id}: {i.Price.Id} × {i.Quantity.ToString(CultureInfo.InvariantCulture)}")),
        ["billing_cycle_anchor"] = Iso(BillingCycleAnchor),
        ["current_period_start"] = Iso(CurrentPeriodStart),
        ["current_period_end"] = Iso(CurrentPeriodEnd),
        ["trial_end"] = Iso(TrialEnd),
        ["trial_will_end_notified"] = TrialWillEndNotified ? "true" : "false",
        ["cancel_at_period_end"] = CancelAtPeriodEnd ? "true" : "false",
        ["cancel_at"] = Iso(CancelAt),
        ["canceled_at"] = Iso(CanceledAt),
        ["ended_at"] = Iso(EndedAt),
        ["pause_collection"] = PauseCollection is null ? null : $"{Wire(PauseCollection.Behavior)} until {Iso(PauseCollection.ResumesAt) ?? "resumed"}",
        ["scheduled_change"] = ScheduledChange is null ? null
            : $"at {Iso(ScheduledChange.EffectiveAt)}: " + string.Join("; ", ScheduledChange.Items.Select(i => $"{i.Id}: {i.Price.Id} × {i.Quantity.ToString(CultureInfo.InvariantCulture)}")),
        ["discount"] = Discount?.Coupon.Id,
        ["latest_invoice"] = LatestInvoiceId,
    };

    private static string? Iso(DateTimeOffset? t) => t?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The snake_case wire name of an enum value (<c>PastDue</c> → <c>past_due</c>).</summary>
    public static string Wire<T>(T value)
        where T : struct, Enum
    {
        var name = value.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(name[i]));
            }
            else
            {
                builder.Append(name[i]);
            }
        }

        return builder.ToString();
    }
}

/// <summary>What a merchant sends to start a subscription.</summary>
public sealed record SubscriptionCreateInput
{
    public required string CustomerId { get; init; }

    public required IReadOnlyList<SubscriptionItemInput> Items { get; init; }

    public int? TrialPeriodDays { get; init; }

    public DateTimeOffset? TrialEnd { get; init; }

    /// <summary>Take the trial from the prices' <c>trial_period_days</c> when no trial is given (Stripe's <c>trial_from_plan</c>).</summary>
    public bool TrialFromPrice { get; init; } = true;

    public DateTimeOffset? BillingCycleAnchor { get; init; }

    /// <summary>For an anchor after the billing start: prorate the partial first period, or (<c>none</c>) leave it free.</summary>
    public ProrationBehavior ProrationBehavior { get; init; } = ProrationBehavior.CreateProrations;

    public IReadOnlyList<TaxRate>? DefaultTaxRates { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
