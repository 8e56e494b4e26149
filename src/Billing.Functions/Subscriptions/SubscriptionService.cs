using System.Security.Cryptography;
using System.Text;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Domain.TestClocks;
using Billing.Functions.Invoices;
using Billing.Functions.Notifications;
using Billing.Functions.Storage;

namespace Billing.Functions.Subscriptions;

/// <summary>
/// Subscription use cases. Creating one writes the subscription, its first invoice (draft) and the client's request
/// marker in one transaction, then finalizes, stores the PDF and collects — each step saved before the next, so a retry
/// of the same request (same Idempotency-Key) or a crash resumes where it stopped: never a second invoice or charge.
/// Changes save the subscription with its proration items (or the invoice that bills them at once) atomically.
/// </summary>
public sealed class SubscriptionService(
    TableInvoicingStore store,
    InvoiceService invoices,
    BillingReferences references,
    ICustomerStore customers,
    SubscriptionSchedule schedule,
    IBillingClock clock,
    INotifier notifier,
    CouponRedemptions redemptions,
    Dunning.DunningService dunning)
{
    private const int MaxAttempts = 20;

    public TableInvoicingStore Store => store;

    public async Task<Stored<Subscription>> LoadAsync(string id, CancellationToken cancellationToken = default) =>
        await store.FindSubscriptionAsync(id, cancellationToken) ?? throw new NotFoundException("subscription", id);

    /// <summary>The latest payment attempt of the subscription's latest invoice, if any.</summary>
    public async Task<PaymentAttempt?> LatestAttemptAsync(Subscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (subscription.LatestInvoiceId is not { } invoiceId)
        {
            return null;
        }

        var attempts = await store.AttemptsAsync(subscription.CustomerId, invoiceId, cancellationToken);
        return attempts.Count > 0 ? attempts[^1].Value : null;
    }

    /// <summary>The subscription on the wire with its latest payment attempt and the dunning of its latest invoice.</summary>
    public async Task<SubscriptionResponse> ResponseAsync(Subscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var invoice = subscription.LatestInvoiceId is { } invoiceId ? await store.GetInvoiceAsync(subscription.CustomerId, invoiceId, cancellationToken) : null;
        // A draft, or an invoice with nothing due, never had a payment attempt: no need to list them (a query).
        var attempt = invoice?.Value is { Status: not InvoiceStatus.Draft, AmountDue: > 0 } ? await LatestAttemptAsync(subscription, cancellationToken) : null;
        return SubscriptionResponse.From(subscription, attempt, invoice?.Value.Dunning);
    }

    public async Task<Subscription> CreateAsync(SubscriptionCreateRequest body, string? requestKey, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrEmpty(body.Customer), "customer", "Is required.");
        errors.AddIf(body.Items is null or { Count: 0 }, "items", "At least one item is required.");
        errors.AddIf(body.Items is { Count: > Subscription.MaxItems }, "items", $"At most {Subscription.MaxItems} items are allowed.");
        errors.ThrowIfAny();
        var customer = await customers.GetAsync(body.Customer!, cancellationToken) ?? throw DomainValidationException.For("customer", $"No such customer: '{body.Customer}'.");
        customer.EnsureCanBeCharged();
        var requestRow = requestKey is null ? null : TableInvoicingStore.RequestRow(Hash(actor, requestKey));
        if (requestRow is not null && await store.GetAsync<CreateRequestEntry>(customer.Id, requestRow, cancellationToken) is { } earlier)
        {
            return await CompleteCreationAsync(customer.Id, earlier.Value.SubscriptionId, actor, cancellationToken);
        }

        var items = new List<SubscriptionItemInput>();
        for (var i = 0; i < body.Items!.Count; i++)
        {
            if (body.Items[i] is not { } item)
            {
                errors.Add($"items[{i}]", "Must be an item object.");
                continue;
            }

            var price = await references.PriceAsync(item.Price, $"items[{i}].price", errors, cancellationToken);
            errors.AddIf(item.Quantity is < 1, $"items[{i}].quantity", "Must be at least 1.");
            if (price is not null)
            {
                items.Add(new SubscriptionItemInput(price, item.Quantity ?? 1));
            }
        }

        var rates = await references.TaxRatesAsync(body.DefaultTaxRates, "default_tax_rates", errors, cancellationToken);
        errors.AddIf(body.Coupon is not null && await references.CouponAsync(body.Coupon, cancellationToken) is null, "coupon", $"No such coupon: '{body.Coupon}'.");
        errors.ThrowIfAny();

        var now = await clock.NowForAsync(customer, cancellationToken);
        var id = Ids.New(Subscription.IdPrefix, now);
        var subscription = Subscription.Create(new SubscriptionCreateInput
        {
            CustomerId = customer.Id,
            Items = items,
            TrialPeriodDays = body.TrialPeriodDays,
            TrialEnd = body.TrialEnd,
            TrialFromPrice = body.TrialFromPrice ?? true,
            BillingCycleAnchor = body.BillingCycleAnchor,
            ProrationBehavior = body.ProrationBehavior ?? ProrationBehavior.CreateProrations,
            DefaultTaxRates = rates,
            Metadata = body.Metadata,
        }, customer, id, now, actor);
        var reservation = body.Coupon is { } couponId ? await redemptions.ReserveAsync(couponId, customer.Id, id, id, now, cancellationToken) : null;
        try
        {
            if (reservation is not null)
            {
                subscription = subscription.SetDiscount(reservation.Discount, now, actor);
            }

            await store.AddIndexAsync(TableInvoicingStore.SubscriptionIndex, id, customer.Id, cancellationToken);
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var s = subscription;
                var batch = new PartitionBatch(customer.Id);
                Invoice? draft = null;
                if (s.Status == SubscriptionStatus.Incomplete)
                {
                    var lines = InvoiceGenerator.DueLines(s, [], [], now);
                    var (result, owner, _) = await DraftAsync(s, lines, BillingReason.SubscriptionCreate, now, cancellationToken);
                    draft = result.Invoice;
                    s = s.WithDiscountUsage(result.UsedDiscount).WithLatestInvoice(draft, now, actor);
                    InvoiceService.AddCustomerDiscountUsage(batch, owner, result.UsedDiscount);
                }

                batch.Insert(TableInvoicingStore.SubscriptionRow(id), s, TableInvoicingStore.SubscriptionColumns(s));
                if (requestRow is not null)
                {
                    batch.Insert(requestRow, new CreateRequestEntry(id));
                }

                reservation?.AddTo(batch);
                var saved = draft is null ? await batch.TrySubmitAsync(store.Client, cancellationToken) : await invoices.TryInsertDraftAsync(draft, batch, cancellationToken);
                if (saved)
                {
                    return await CompleteCreationAsync(customer.Id, id, actor, cancellationToken);
                }

                // A concurrent retry of the same request won (its request marker exists): continue its subscription.
                if (requestRow is not null && await store.GetAsync<CreateRequestEntry>(customer.Id, requestRow, cancellationToken) is { } winner)
                {
                    return await CompleteCreationAsync(customer.Id, winner.Value.SubscriptionId, actor, cancellationToken);
                }

                // Otherwise another row of the customer changed meanwhile (e.g. its discount's usage): draft again.
                if (reservation is not null)
                {
                    await redemptions.EnsureStillReservedAsync(reservation, cancellationToken);
                }

                await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
            }

            throw new ConcurrencyConflictException("The subscription could not be saved; retry the request.");
        }
        finally
        {
            await redemptions.SettleQuietlyAsync(reservation);
        }
    }

    public async Task<Subscription> UpdateAsync(string id, SubscriptionUpdateRequest body, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var located = await LoadAsync(id, cancellationToken);
        var customerId = located.Value.CustomerId;
        var errors = new ValidationErrors();
        var updates = await ItemUpdatesAsync(body.Items, errors, cancellationToken);
        var rates = await references.TaxRatesAsync(body.DefaultTaxRates, "default_tax_rates", errors, cancellationToken);
        errors.AddIf(body.PauseCollection is { Behavior: null }, "pause_collection.behavior", "Is required: keep_as_draft, mark_uncollectible or void.");
        errors.AddIf(body.ChangeAtPeriodEnd == true && body.ProrationBehavior is not null and not ProrationBehavior.None, "proration_behavior", "Changes at the period end are not prorated.");
        errors.AddIf(updates is null && (body.ProrationBehavior is not null || body.ProrationDate is not null || body.ChangeAtPeriodEnd is not null), "items", "Proration settings need item changes.");
        errors.AddIf(body.Coupon is not null && await references.CouponAsync(body.Coupon, cancellationToken) is null, "coupon", $"No such coupon: '{body.Coupon}'.");
        errors.ThrowIfAny();
        // The coupon the subscription already has is no change; another is redeemed for it (once per subscription),
        // after the rest of the change was tried on the current subscription, so a refused change redeems nothing.
        CouponReservation? reservation = null;
        if (body.Coupon is { } couponId && !string.Equals(located.Value.Discount?.Coupon.Id, couponId, StringComparison.Ordinal))
        {
            var now = await NowAsync(customerId, cancellationToken);
            _ = Change(located.Value, body, updates, rates, now, actor).Subscription.SetDiscount(null, now, actor);
            reservation = await redemptions.ReserveAsync(couponId, customerId, id, id, now, cancellationToken);
        }

        try
        {
            return await SaveUpdateAsync(id, customerId, body, updates, rates, reservation, actor, cancellationToken);
        }
        finally
        {
            await redemptions.SettleQuietlyAsync(reservation);
        }
    }

    private async Task<Subscription> SaveUpdateAsync(string id, string customerId, SubscriptionUpdateRequest body, IReadOnlyList<ItemUpdate>? updates, IReadOnlyList<TaxRate>? rates,
        CouponReservation? reservation, string actor, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var stored = await store.GetSubscriptionAsync(customerId, id, cancellationToken) ?? throw new NotFoundException("subscription", id);
            var now = await NowAsync(customerId, cancellationToken);
            var (s, prorations, invoiceNow) = Change(stored.Value, body, updates, rates, now, actor);

            // Not when a concurrent duplicate of this request saved the same discount already.
            var applying = reservation is not null && !string.Equals(s.Discount?.Id, reservation.Discount.Id, StringComparison.Ordinal);
            if (applying)
            {
                s = s.SetDiscount(reservation!.Discount, now, actor);
            }

            var (saved, invoiceId) = await SaveAsync(stored, s, prorations, invoiceNow, [], now, actor, cancellationToken, applying ? reservation : null);
            if (saved)
            {
                return await AfterChangeAsync(customerId, id, invoiceId, actor, cancellationToken);
            }

            if (reservation is not null)
            {
                await redemptions.EnsureStillReservedAsync(reservation, cancellationToken);
            }
        }

        throw new ConcurrencyConflictException("The subscription was changed concurrently too many times; retry the request.");
    }

    /// <summary>The change a PATCH asks for, except the coupon: items (with prorations), cancel at period end, pause, tax rates, metadata.</summary>
    private static SubscriptionUpdateResult Change(Subscription subscription, SubscriptionUpdateRequest body, IReadOnlyList<ItemUpdate>? updates, IReadOnlyList<TaxRate>? rates,
        DateTimeOffset now, string actor)
    {
        var s = subscription;
        IReadOnlyList<PendingInvoiceItem> prorations = [];
        var invoiceNow = false;
        if (updates is not null)
        {
            if (body.ChangeAtPeriodEnd == true)
            {
                s = s.ScheduleChangeAtPeriodEnd(updates, now, actor);
            }
            else
            {
                var result = s.ChangeItems(updates, body.ProrationBehavior ?? ProrationBehavior.CreateProrations, now, actor, body.ProrationDate);
                (s, prorations, invoiceNow) = (result.Subscription, result.ProrationItems, result.InvoiceNow);
            }
        }

        if (body.CancelAtPeriodEnd is { } cancel)
        {
            s = s.SetCancelAtPeriodEnd(cancel, now, actor);
        }

        if (body.PauseCollection is { Behavior: { } behavior } pause)
        {
            s = s.PauseCollectionWith(behavior, pause.ResumesAt, now, actor);
        }

        if (rates is not null)
        {
            s = s.SetDefaultTaxRates(rates, now, actor);
        }

        return new SubscriptionUpdateResult(s.UpdateMetadata(body.Metadata, now, actor), prorations, invoiceNow);
    }

    /// <summary>What <see cref="UpdateAsync"/> would bill for these item changes, as an unsaved draft invoice.</summary>
    public async Task<(Invoice Invoice, DateTimeOffset ProrationDate)> PreviewAsync(string id, SubscriptionPreviewRequest body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var stored = await LoadAsync(id, cancellationToken);
        var errors = new ValidationErrors();
        var updates = await ItemUpdatesAsync(body.Items, errors, cancellationToken);
        errors.AddIf(updates is null, "items", "At least one item change is required.");
        errors.ThrowIfAny();
        var now = await NowAsync(stored.Value.CustomerId, cancellationToken);
        var date = body.ProrationDate ?? now;
        var items = stored.Value.PreviewChange(updates!, body.ProrationBehavior ?? ProrationBehavior.CreateProrations, now, date);
        var (draft, _, _) = await DraftAsync(stored.Value, InvoiceGenerator.PendingLines(items, []), BillingReason.SubscriptionUpdate, now, cancellationToken);
        return (draft.Invoice, date);
    }

    public async Task<Subscription> CancelAsync(string id, SubscriptionCancelRequest? body, string actor, CancellationToken cancellationToken = default)
    {
        var located = await LoadAsync(id, cancellationToken);
        var customerId = located.Value.CustomerId;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var stored = await store.GetSubscriptionAsync(customerId, id, cancellationToken) ?? throw new NotFoundException("subscription", id);
            var now = await NowAsync(customerId, cancellationToken);
            var result = stored.Value.CancelNow(now, actor, body?.Prorate ?? false, body?.InvoiceNow ?? false);
            var (saved, invoiceId) = await SaveAsync(stored, result.Subscription, result.ProrationItems, result.InvoiceNow, [], now, actor, cancellationToken);
            if (!saved)
            {
                continue;
            }

            // The unpaid first invoice of a subscription that never started is voided, as Stripe does.
            if (stored.Value.Status == SubscriptionStatus.Incomplete && stored.Value.LatestInvoiceId is { } first
                && await store.GetInvoiceAsync(customerId, first, cancellationToken) is { Value: { Status: InvoiceStatus.Open, AmountPaid: 0 } })
            {
                await invoices.TransitionAsync(customerId, first, (i, t) => i.Void(t), actor, cancellationToken);
            }

            return await AfterChangeAsync(customerId, id, invoiceId, actor, cancellationToken);
        }

        throw new ConcurrencyConflictException("The subscription was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Resumes a paused subscription (re-anchored now; the new period is invoiced and collected at once) or, for an
    /// active one, ends a collection pause.
    /// </summary>
    public async Task<Subscription> ResumeAsync(string id, string actor, CancellationToken cancellationToken = default)
    {
        var located = await LoadAsync(id, cancellationToken);
        var customerId = located.Value.CustomerId;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var stored = await store.GetSubscriptionAsync(customerId, id, cancellationToken) ?? throw new NotFoundException("subscription", id);
            var now = await NowAsync(customerId, cancellationToken);
            var s = stored.Value;
            SaveOutcome outcome;
            if (s.Status == SubscriptionStatus.Paused)
            {
                s = s.Resume(now, actor);
                var (invoiced, all) = await RenewalInputsAsync(s, cancellationToken);
                var pending = all.Where(p => p.Value.SubscriptionId == id).ToList();
                var lines = InvoiceGenerator.DueLines(s, invoiced, pending.Select(p => p.Value), now);
                outcome = await SaveAsync(stored, s, lines, pending, BillingReason.SubscriptionCycle, now, actor, cancellationToken);
            }
            else if (s.PauseCollection is not null)
            {
                outcome = await SaveAsync(stored, s.ResumeCollection(now, actor), [], false, [], now, actor, cancellationToken);
            }
            else
            {
                throw new InvalidStateException($"Subscription '{id}' is {Subscription.Wire(s.Status)} and its collection is not paused.", "subscription_not_paused");
            }

            if (outcome.Saved)
            {
                return await AfterChangeAsync(customerId, id, outcome.InvoiceId, actor, cancellationToken);
            }
        }

        throw new ConcurrencyConflictException("The subscription was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Runs one scheduled step (see <see cref="SubscriptionSchedule"/>): renewal and trial end
    /// (<see cref="Renewal.Advance"/>: the new period and its invoice saved together, then finalized and collected; a
    /// failed collection makes the subscription past_due), trial_will_end (event + flag), incomplete_expiry (expires the
    /// subscription and voids its unpaid first invoice) and resume_collection. A step whose expected version is stale, or
    /// that is not due yet, does nothing but make sure the current next step is scheduled.
    /// </summary>
    public async Task RunScheduledAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var stored = await store.GetSubscriptionAsync(work.CustomerId, work.TargetId, cancellationToken);
        if (stored is null)
        {
            return;
        }

        if (stored.Value.Version != work.ExpectedVersion)
        {
            // Only a redelivery: a first delivery with a stale version may be a duplicate from a concurrent sweep
            // whose twin is billing this very renewal right now.
            if (work.Kind is "renewal" or "trial_end" && work.Delivery != 1 && stored.Value.Version > work.ExpectedVersion)
            {
                await ResumeUnbilledAsync(stored.Value, cancellationToken);
            }

            return;
        }

        var s = stored.Value;
        var now = await NowAsync(s.CustomerId, cancellationToken);
        if (s.NextAction() is not { } next || SubscriptionSchedule.KindName(next.Kind) != work.Kind || now < next.At)
        {
            await schedule.ScheduleNextAsync(s, cancellationToken);
            return;
        }

        SaveOutcome outcome;
        switch (next.Kind)
        {
            case ScheduledActionKind.Renew or ScheduledActionKind.TrialEnd:
                outcome = await RenewAsync(stored, now, cancellationToken);
                break;
            case ScheduledActionKind.TrialWillEnd:
                outcome = await SavePendingAsync(stored, s.MarkTrialWillEndNotified(now), [], cancellationToken);
                if (outcome.Saved)
                {
                    await PublishAsync("customer.subscription.trial_will_end", s, $"customer.subscription.trial_will_end:{s.Id}:{s.TrialEnd:O}", cancellationToken);
                }

                break;
            case ScheduledActionKind.IncompleteExpiry:
                outcome = await SavePendingAsync(stored, s.ExpireIncomplete(now), [], cancellationToken);
                if (outcome.Saved && s.LatestInvoiceId is { } first
                    && await store.GetInvoiceAsync(s.CustomerId, first, cancellationToken) is { Value: { Status: InvoiceStatus.Open, AmountPaid: 0 } })
                {
                    await invoices.TransitionAsync(s.CustomerId, first, (i, t) => i.Void(t), Actors.Scheduler, cancellationToken);
                }

                break;
            default:
                outcome = await SavePendingAsync(stored, s.ResumeCollection(now, Actors.Scheduler), [], cancellationToken);
                break;
        }

        if (!outcome.Saved)
        {
            return; // someone changed the subscription meanwhile; their change scheduled its own next step
        }

        await BillAndScheduleAsync(s.CustomerId, s.Id, outcome.InvoiceId, outcome, cancellationToken);
    }

    /// <summary>
    /// Saves the renewal's new period with its invoice. A failed save while the subscription itself is unchanged means
    /// another row written with it changed (the customer's discount usage, a consumed pending item): the step is worked
    /// out again from fresh reads, so it is never dropped for a change that was not the subscription's.
    /// </summary>
    private async Task<SaveOutcome> RenewAsync(Stored<Subscription> stored, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var s = stored.Value;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (invoiced, pending) = await RenewalInputsAsync(s, cancellationToken);
            var result = Renewal.Advance(s, invoiced, pending.Select(p => p.Value), now);
            var billed = result.Lines.Select(l => l.PendingItemId).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var outcome = await SaveAsync(stored, result.Subscription, result.Lines, [.. pending.Where(p => billed.Contains(p.Value.Id))], result.BillingReason, now, Actors.Scheduler, cancellationToken);
            if (outcome.Saved || await store.GetSubscriptionAsync(s.CustomerId, s.Id, cancellationToken) is not { } current || current.ETag != stored.ETag)
            {
                return outcome;
            }

            await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
        }

        throw new ConcurrencyConflictException($"The renewal of subscription '{s.Id}' kept conflicting with other changes of its customer; it is retried.");
    }

    /// <summary>
    /// What a renewal bills against: the cycle periods already invoiced (the subscription's own ledger, see
    /// <see cref="Subscription.Invoiced"/>; for a subscription stored before it, its invoices listed) and the customer's
    /// pending items (none read when the customer's marker says there are none). Neither is a table query in the common
    /// case: on Azurite a query scans the whole table, and at 10,000 customers it was the renewal's costliest step.
    /// </summary>
    private async Task<(IReadOnlyList<InvoicedItem> Invoiced, IReadOnlyList<Stored<PendingInvoiceItem>> Pending)> RenewalInputsAsync(Subscription s,
        CancellationToken cancellationToken)
    {
        if (s.Invoiced is { } ledger)
        {
            return (ledger, await store.PendingItemsIfAnyAsync(s.CustomerId, cancellationToken));
        }

        var (invoices, pending) = await store.RenewalInputsAsync(s.CustomerId, s.Id, cancellationToken);
        return (InvoicedItem.From(invoices), pending);
    }

    /// <summary>
    /// Bills the invoice a step saved and schedules the next step; a failed collection makes the subscription past_due
    /// and starts dunning. <paramref name="saved"/> carries the rows the step wrote (and the customer it read), so they are
    /// used as they are rather than read back.
    /// </summary>
    private async Task BillAndScheduleAsync(string customerId, string subscriptionId, string? invoiceId, SaveOutcome? saved, CancellationToken cancellationToken)
    {
        var (current, billed) = await AfterChangeAsync(customerId, subscriptionId, invoiceId, Actors.Scheduler, saved, cancellationToken);
        if (invoiceId is null)
        {
            return;
        }

        var failed = billed is { } b && b.Invoice.Id == invoiceId
            ? b.Invoice.Status == InvoiceStatus.Open && b.Attempt is { Status: not null and not CollectionStatus.Succeeded }
            : await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is { Value.Status: InvoiceStatus.Open }
                && await store.AttemptsAsync(customerId, invoiceId, cancellationToken) is [.., { Value.Status: not null and not CollectionStatus.Succeeded }];
        if (failed)
        {
            await MarkFailedAsync(current, cancellationToken);
            await dunning.StartAsync(customerId, invoiceId, cancellationToken);
        }
    }

    /// <summary>
    /// A redelivered renewal / trial end (see <see cref="DueWork.Delivery"/>) whose new period was already saved (the process stopped before the invoice was
    /// finalized, charged or the next step scheduled): finishes that work — finalize, collect (the in-progress attempt is
    /// resumed with its idempotency key, never a second one), schedule next. Invoices already being collected or
    /// settled are left to their own flow; only the next step is made sure of.
    /// </summary>
    private async Task ResumeUnbilledAsync(Subscription s, CancellationToken cancellationToken)
    {
        if (s.LatestInvoiceId is { } invoiceId && await store.GetInvoiceAsync(s.CustomerId, invoiceId, cancellationToken) is { } invoice
            && invoice.Value.SubscriptionId == s.Id
            && (invoice.Value.Status == InvoiceStatus.Draft
                || (invoice.Value.Status == InvoiceStatus.Open && await store.AttemptsAsync(s.CustomerId, invoiceId, cancellationToken) is [] or [.., { Value.Status: null }])))
        {
            await BillAndScheduleAsync(s.CustomerId, s.Id, invoiceId, null, cancellationToken);
            return;
        }

        await schedule.ScheduleNextAsync(s, cancellationToken);
    }

    /// <summary>A renewal or trial-end invoice could not be collected: active / trialing → past_due (dunning takes over).</summary>
    private async Task MarkFailedAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var stored = await store.GetSubscriptionAsync(subscription.CustomerId, subscription.Id, cancellationToken) ?? throw new NotFoundException("subscription", subscription.Id);
            if (stored.Value.Version != subscription.Version)
            {
                return;
            }

            var failed = stored.Value.MarkPaymentFailed(await NowAsync(subscription.CustomerId, cancellationToken), Actors.Scheduler);
            if ((await SavePendingAsync(stored, failed, [], cancellationToken)).Saved)
            {
                await schedule.ScheduleNextAsync(failed, cancellationToken);
                await PublishAsync("customer.subscription.updated", failed, $"customer.subscription.updated:{failed.Id}:v{failed.Version}", cancellationToken);
                return;
            }
        }
    }

    private async Task<Subscription> CompleteCreationAsync(string customerId, string subscriptionId, string actor, CancellationToken cancellationToken)
    {
        var stored = await store.GetSubscriptionAsync(customerId, subscriptionId, cancellationToken) ?? throw new NotFoundException("subscription", subscriptionId);
        await BillLatestAsync(stored.Value, actor, newAttempt: false, offSession: false, null, cancellationToken);
        var current = (await store.GetSubscriptionAsync(customerId, subscriptionId, cancellationToken))!.Value;
        await schedule.ScheduleNextAsync(current, cancellationToken);
        await PublishAsync("customer.subscription.created", current, $"customer.subscription.created:{subscriptionId}", cancellationToken);
        return current;
    }

    private async Task<Subscription> AfterChangeAsync(string customerId, string subscriptionId, string? invoiceId, string actor, CancellationToken cancellationToken) =>
        (await AfterChangeAsync(customerId, subscriptionId, invoiceId, actor, null, cancellationToken)).Current;

    private async Task<(Subscription Current, (Invoice Invoice, PaymentAttempt? Attempt)? Billed)> AfterChangeAsync(string customerId, string subscriptionId, string? invoiceId,
        string actor, SaveOutcome? saved, CancellationToken cancellationToken)
    {
        (Invoice Invoice, PaymentAttempt? Attempt)? billed = null;
        if (invoiceId is not null)
        {
            var subscription = saved?.Subscription?.Value ?? (await store.GetSubscriptionAsync(customerId, subscriptionId, cancellationToken))!.Value;
            billed = await BillLatestAsync(subscription, actor, newAttempt: true, offSession: true, saved, cancellationToken);
        }

        // Billing changes the subscription only when a payment activates an incomplete / past_due / unpaid one; otherwise
        // the row as the step saved it is still the current one (a concurrent change schedules and publishes its own).
        var current = saved?.Subscription?.Value is { Status: not (SubscriptionStatus.Incomplete or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid) } kept
            ? kept
            : (await store.GetSubscriptionAsync(customerId, subscriptionId, cancellationToken))!.Value;
        await schedule.ScheduleNextAsync(current, cancellationToken);
        var type = current.Status == SubscriptionStatus.Canceled ? "customer.subscription.deleted" : "customer.subscription.updated";
        await PublishAsync(type, current, $"{type}:{subscriptionId}:v{current.Version}", cancellationToken);
        return (current, billed);
    }

    private Task PublishAsync(string type, Subscription subscription, string dedupeKey, CancellationToken cancellationToken) =>
        notifier.PublishAsync(type, subscription.CustomerId, SubscriptionResponse.From(subscription), dedupeKey, cancellationToken);

    /// <summary>
    /// Finalizes the latest invoice when it is a draft and collects it when it is open (unless collection is paused).
    /// The first invoice is collected on-session (the customer is subscribing now and can authenticate: 3-D Secure
    /// answers requires_action with a client secret); later ones off-session (3-D Secure is then a decline).
    /// </summary>
    /// <remarks>
    /// <paramref name="saved"/>: the draft as the caller just wrote it and the customer and balance it read, used instead of
    /// reading them again; a draft finalized here with the owner known is then collected
    /// without querying its attempts (<see cref="InvoiceService.CollectFinalizedAsync"/>). Returns the collection's
    /// outcome when one was made.
    /// </remarks>
    private async Task<(Invoice Invoice, PaymentAttempt? Attempt)?> BillLatestAsync(Subscription subscription, string actor, bool newAttempt, bool offSession,
        SaveOutcome? saved, CancellationToken cancellationToken)
    {
        var (knownDraft, owner) = (saved?.Draft, saved?.Owner);
        if (subscription.LatestInvoiceId is not { } invoiceId
            || (knownDraft is { Value.Id: var known } && known == invoiceId ? knownDraft : await store.GetInvoiceAsync(subscription.CustomerId, invoiceId, cancellationToken)) is not { } stored)
        {
            return null;
        }

        var invoice = stored.Value;
        var paused = subscription.PauseCollection?.Behavior;
        Stored<Invoice>? finalized = null;
        if (invoice.Status == InvoiceStatus.Draft)
        {
            if (paused == PauseCollectionBehavior.KeepAsDraft)
            {
                return null;
            }

            finalized = await invoices.FinalizeAsync(subscription.CustomerId, invoiceId, actor, stored, owner, ReferenceEquals(stored, knownDraft) ? saved?.Balance : null, cancellationToken);
            invoice = finalized.Value;
            if (invoice.Status == InvoiceStatus.Open && paused is PauseCollectionBehavior.Void or PauseCollectionBehavior.MarkUncollectible)
            {
                await invoices.TransitionAsync(subscription.CustomerId, invoiceId,
                    (i, t) => paused == PauseCollectionBehavior.Void ? i.Void(t) : i.MarkUncollectible(t), actor, cancellationToken);
                return null;
            }
        }

        if (invoice.Status == InvoiceStatus.Open && invoice.CollectionMethod == CollectionMethod.ChargeAutomatically && paused is null)
        {
            return finalized is not null && owner is not null && newAttempt
                ? await invoices.CollectFinalizedAsync(finalized, owner, offSession, saved?.Subscription, cancellationToken)
                : await invoices.CollectAsync(subscription.CustomerId, invoiceId, offSession, newAttempt, cancellationToken);
        }

        return null;
    }

    private Task<SaveOutcome> SaveAsync(Stored<Subscription> before, Subscription after, IReadOnlyList<PendingInvoiceItem> items, bool invoiceNow,
        IReadOnlyList<Stored<PendingInvoiceItem>> consumed, DateTimeOffset now, string actor, CancellationToken cancellationToken, CouponReservation? reservation = null) =>
        invoiceNow
            ? SaveAsync(before, after, InvoiceGenerator.PendingLines(items, []), consumed, BillingReason.SubscriptionUpdate, now, actor, cancellationToken, reservation)
            : SavePendingAsync(before, after, items, cancellationToken, reservation);

    /// <summary>
    /// Saves the subscription and its new pending items (prorations waiting for the next invoice) in one transaction,
    /// with the fence of a coupon redeemed for it (<paramref name="reservation"/>) when it takes that discount.
    /// </summary>
    private async Task<SaveOutcome> SavePendingAsync(Stored<Subscription> before, Subscription after, IReadOnlyList<PendingInvoiceItem> items, CancellationToken cancellationToken,
        CouponReservation? reservation = null)
    {
        if (ReferenceEquals(before.Value, after))
        {
            return (true, null);
        }

        var batch = new PartitionBatch(after.CustomerId)
            .Replace(TableInvoicingStore.SubscriptionRow(after.Id), after, before.ETag, TableInvoicingStore.SubscriptionColumns(after));
        foreach (var item in items)
        {
            batch.Insert(TableInvoicingStore.PendingItemRow(item.Id), item);
        }

        if (items.Count > 0)
        {
            TableInvoicingStore.MarkPending(batch);
        }

        reservation?.AddTo(batch);
        return (await batch.TrySubmitAsync(store.Client, cancellationToken), null);
    }

    /// <summary>
    /// Saves the subscription with a new draft invoice for <paramref name="lines"/> (and removes the pending items it
    /// consumed) in one transaction; when the draft used the customer's discount, its usage is recorded there too.
    /// </summary>
    private async Task<SaveOutcome> SaveAsync(Stored<Subscription> before, Subscription after, IReadOnlyList<InvoiceLine> lines,
        IReadOnlyList<Stored<PendingInvoiceItem>> consumed, BillingReason reason, DateTimeOffset now, string actor, CancellationToken cancellationToken,
        CouponReservation? reservation = null)
    {
        if (lines.Count == 0)
        {
            return await SavePendingAsync(before, after, [], cancellationToken, reservation);
        }

        var (draft, owner, balance) = await DraftAsync(after, lines, reason, now, cancellationToken);
        after = after.WithDiscountUsage(draft.UsedDiscount).WithLatestInvoice(draft.Invoice, now, actor);
        var batch = new PartitionBatch(after.CustomerId)
            .Replace(TableInvoicingStore.SubscriptionRow(after.Id), after, before.ETag, TableInvoicingStore.SubscriptionColumns(after));
        foreach (var item in consumed)
        {
            batch.Delete(TableInvoicingStore.PendingItemRow(item.Value.Id), item.ETag);
        }

        InvoiceService.AddCustomerDiscountUsage(batch, owner, draft.UsedDiscount);
        reservation?.AddTo(batch);
        if (await invoices.TryInsertDraftForETagsAsync(draft.Invoice, batch, cancellationToken) is not { } written)
        {
            return new SaveOutcome(false, draft.Invoice.Id);
        }

        return new SaveOutcome(true, draft.Invoice.Id,
            written.TryGetValue(TableInvoicingStore.SubscriptionRow(after.Id), out var subscriptionETag) ? new Stored<Subscription>(after, subscriptionETag) : null,
            written.TryGetValue(TableInvoicingStore.InvoiceRow(draft.Invoice.Id), out var invoiceETag) ? new Stored<Invoice>(draft.Invoice, invoiceETag) : null,
            owner.Value, balance);
    }

    /// <summary>
    /// A draft for the subscription's <paramref name="lines"/>. Its discount is the subscription's when it applies, else
    /// the customer's (<see cref="Customer.Discount"/>); the customer row is returned with its ETag so the caller can
    /// record that usage in its transaction.
    /// </summary>
    private async Task<(InvoiceDraftResult Draft, Stored<Customer> Owner, InvoiceService.BalanceRead Balance)> DraftAsync(Subscription subscription, IReadOnlyList<InvoiceLine> lines, BillingReason reason, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var owner = await store.GetCustomerAsync(subscription.CustomerId, cancellationToken) ?? throw new NotFoundException("customer", subscription.CustomerId);
        var balance = await invoices.BalanceAsync(subscription.CustomerId, subscription.Currency, cancellationToken);
        var draft = Invoice.CreateDraft(new InvoiceDraftInput
        {
            CustomerId = subscription.CustomerId,
            Currency = subscription.Currency,
            SubscriptionId = subscription.Id,
            BillingReason = reason,
            Lines = lines,
            DefaultTaxRates = subscription.DefaultTaxRates,
            Discounts = [.. new[] { subscription.Discount, owner.Value.Discount }.OfType<Discount>()],
            CustomerBalance = balance?.Value.Balance ?? 0,
        }, Ids.New(Invoice.IdPrefix, now), now);
        return (draft, owner, new InvoiceService.BalanceRead(balance));
    }

    private async Task<IReadOnlyList<ItemUpdate>?> ItemUpdatesAsync(IReadOnlyList<SubscriptionItemUpdateRequest>? items, ValidationErrors errors, CancellationToken cancellationToken)
    {
        if (items is null)
        {
            return null;
        }

        var updates = new List<ItemUpdate>();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not { } item)
            {
                errors.Add($"items[{i}]", "Must be an item object.");
                continue;
            }

            errors.AddIf(item.Quantity is < 1, $"items[{i}].quantity", "Must be at least 1 (remove an item with deleted: true).");
            errors.AddIf(item.Id is null && item.Price is null, $"items[{i}].price", "A new item needs a price.");
            errors.AddIf(item.Deleted == true && (item.Id is null || item.Price is not null || item.Quantity is not null), $"items[{i}].deleted", "Give only the id of the item to remove.");
            var price = item.Price is null ? null : await references.PriceAsync(item.Price, $"items[{i}].price", errors, cancellationToken);
            updates.Add(new ItemUpdate { ItemId = item.Id, Price = price, Quantity = item.Quantity, Deleted = item.Deleted == true });
        }

        return updates;
    }

    /// <summary>The customer's "now": real time, or its test clock's time.</summary>
    private Task<DateTimeOffset> NowAsync(string customerId, CancellationToken cancellationToken) =>
        clock.NowForAsync(customerId, cancellationToken);

    /// <summary>
    /// What saving a step did: whether it was saved, the invoice it drafted, and — when it drafted one — the subscription
    /// and draft as written (with their new ETags), and the customer and balance read for the draft.
    /// </summary>
    private sealed record SaveOutcome(bool Saved, string? InvoiceId, Stored<Subscription>? Subscription = null, Stored<Invoice>? Draft = null, Customer? Owner = null,
        InvoiceService.BalanceRead? Balance = null)
    {
        public static implicit operator SaveOutcome((bool Saved, string? InvoiceId) outcome) => new(outcome.Saved, outcome.InvoiceId);

        public void Deconstruct(out bool saved, out string? invoiceId) => (saved, invoiceId) = (Saved, InvoiceId);
    }

    private static string Hash(string actor, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(actor + "\n" + key)))[..40];
}
