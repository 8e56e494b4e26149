using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;
using Billing.Domain.TestClocks;
using Billing.Functions.Notifications;
using Billing.Functions.Storage;
using Billing.Functions.Subscriptions;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Invoices;

/// <summary>
/// Invoice use cases over the customer partition: create drafts, edit drafts (fields, discount, one-off lines) and
/// delete standalone ones, finalize (number + customer balance + subscription status in one transaction, then the
/// PDF), collect (attempt intent → gateway → outcome), pay out of band, void, mark uncollectible and issue credit notes. Every write is a <see cref="PartitionBatch"/> with the ETags of what was
/// read; a conflict reloads and re-applies, a bounded number of times, then 409.
/// </summary>
public sealed class InvoiceService(
    TableInvoicingStore store,
    AccountNumbering accountNumbering,
    InvoiceDocuments documents,
    IInvoiceCollector collector,
    ICustomerStore customers,
    IOptions<InvoicingOptions> options,
    IBillingClock clock,
    INotifier notifier,
    SubscriptionSchedule schedule,
    CouponRedemptions redemptions,
    Telemetry.BillingMetrics metrics)
{
    public const string BalanceTransactionPrefix = "cbtxn";
    private const int MaxAttempts = 60;
    private const int NextStepEnsuredLimit = 4_096;

    /// <summary>
    /// Paid invoices whose subscription's next step this instance scheduled (the most recent 4,096 at least): a settlement
    /// webhook arriving afterwards need not read the invoice and the subscription again to make sure of it.
    /// </summary>
    private readonly BoundedMemo<string, bool> nextStepEnsured = new(NextStepEnsuredLimit);

    public TableInvoicingStore Store => store;

    public async Task<Stored<Invoice>> LoadAsync(string invoiceId, CancellationToken cancellationToken = default) =>
        await store.FindInvoiceAsync(invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);

    public async Task<Customer> CustomerAsync(string customerId, CancellationToken cancellationToken = default) =>
        await customers.GetAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId);

    /// <summary>A balance row as read (with its ETag), or <c>null</c> when the customer had none in that currency.</summary>
    public sealed record BalanceRead(Stored<CustomerBalance>? Row);

    /// <summary>The customer's balance in <paramref name="currency"/> (zero when it never moved).</summary>
    public async Task<Stored<CustomerBalance>?> BalanceAsync(string customerId, string currency, CancellationToken cancellationToken = default) =>
        await store.GetAsync<CustomerBalance>(customerId, TableInvoicingStore.BalanceRow(currency), cancellationToken);

    /// <summary>
    /// Writes a new draft together with the rows the caller put in <paramref name="batch"/> (e.g. the subscription it
    /// belongs to, the pending items it consumed). The index row goes first. Returns false on a conflict.
    /// </summary>
    public async Task<bool> TryInsertDraftAsync(Invoice draft, PartitionBatch batch, CancellationToken cancellationToken = default) =>
        await TryInsertDraftForETagsAsync(draft, batch, cancellationToken) is not null;

    /// <summary><see cref="TryInsertDraftAsync"/> returning the new ETags of the rows written (null on a conflict).</summary>
    public async Task<IReadOnlyDictionary<string, Azure.ETag>?> TryInsertDraftForETagsAsync(Invoice draft, PartitionBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(batch);
        await store.AddIndexAsync(TableInvoicingStore.InvoiceIndex, draft.Id, draft.CustomerId, cancellationToken);
        batch.Insert(TableInvoicingStore.InvoiceRow(draft.Id), draft, TableInvoicingStore.InvoiceColumns(draft));
        if (await batch.TrySubmitForETagsAsync(store.Client, cancellationToken) is not { } written)
        {
            return null;
        }

        await PublishCommittedAsync("invoice.created", draft, cancellationToken);
        return written;
    }

    /// <summary>
    /// A standalone draft: the one-off items given plus (by default) the customer's pending items in that currency, which
    /// are removed in the same transaction that saves the invoice (their lines keep their ids), so none is billed twice.
    /// Its discount is the coupon given (redeemed for this invoice), else the customer's discount when it applies.
    /// </summary>
    public async Task<Invoice> CreateStandaloneAsync(InvoiceCreateRequest body, BillingReferences references, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(references);
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrEmpty(body.Customer), "customer", "Is required.");
        errors.AddIf(!Currency.TryFromCode(body.Currency, out var currency), "currency", "Must be a supported ISO 4217 currency code.");
        errors.AddIf(body.Items is { Count: > 100 }, "items", "At most 100 items are allowed.");
        errors.ThrowIfAny();
        var customer = await customers.GetAsync(body.Customer!, cancellationToken) ?? throw DomainValidationException.For("customer", $"No such customer: '{body.Customer}'.");
        customer.EnsureCanBeCharged();
        var defaultRates = await references.TaxRatesAsync(body.DefaultTaxRates, "default_tax_rates", errors, cancellationToken);
        var now = await clock.NowForAsync(customer, cancellationToken);
        var lines = await OneOffLinesAsync(body.Items, "items", customer.Id, currency!.Code, now, references, errors, cancellationToken);
        errors.AddIf(body.Coupon is not null && await references.CouponAsync(body.Coupon, cancellationToken) is null, "coupon", $"No such coupon: '{body.Coupon}'.");
        errors.ThrowIfAny();
        if (lines.Count == 0 && (body.IncludePendingItems == false || !(await store.PendingItemsAsync(customer.Id, cancellationToken)).Any(p => p.Value.Currency == currency.Code)))
        {
            throw DomainValidationException.For("items", "The invoice would be empty: give items or create pending items first."); // before a coupon is redeemed for it
        }

        var id = Ids.New(Invoice.IdPrefix, now);
        var reservation = body.Coupon is { } couponId ? await redemptions.ReserveAsync(couponId, customer.Id, id, null, now, cancellationToken) : null;
        try
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var pending = body.IncludePendingItems == false ? []
                    : (await store.PendingItemsAsync(customer.Id, cancellationToken)).Where(p => string.Equals(p.Value.Currency, currency.Code, StringComparison.Ordinal)).ToList();
                var all = lines.Concat(InvoiceGenerator.PendingLines(pending.Select(p => p.Value), [])).ToList();
                if (all.Count == 0)
                {
                    throw DomainValidationException.For("items", "The invoice would be empty: give items or create pending items first.");
                }

                var owner = await store.GetCustomerAsync(customer.Id, cancellationToken) ?? throw new NotFoundException("customer", customer.Id);
                var balance = await BalanceAsync(customer.Id, currency.Code, cancellationToken);
                var result = Invoice.CreateDraft(new InvoiceDraftInput
                {
                    CustomerId = customer.Id,
                    Currency = currency.Code,
                    BillingReason = BillingReason.Manual,
                    CollectionMethod = body.CollectionMethod ?? CollectionMethod.ChargeAutomatically,
                    DaysUntilDue = body.DaysUntilDue,
                    Lines = all,
                    DefaultTaxRates = defaultRates ?? [],
                    Discounts = [.. new[] { reservation?.Discount, owner.Value.Discount }.OfType<Discount>()],
                    CustomerBalance = balance?.Value.Balance ?? 0,
                    Description = body.Description,
                    Footer = body.Footer,
                    Metadata = body.Metadata,
                }, id, now);
                var batch = new PartitionBatch(customer.Id);
                foreach (var item in pending)
                {
                    batch.Delete(TableInvoicingStore.PendingItemRow(item.Value.Id), item.ETag);
                }

                reservation?.AddTo(batch);
                AddCustomerDiscountUsage(batch, owner, result.UsedDiscount);
                if (await TryInsertDraftAsync(result.Invoice, batch, cancellationToken))
                {
                    return result.Invoice;
                }

                if (reservation is not null)
                {
                    await redemptions.EnsureStillReservedAsync(reservation, cancellationToken);
                }

                await Backoff(attempt, cancellationToken);
            }

            throw new ConcurrencyConflictException("The customer's pending items changed concurrently too many times; retry the request.");
        }
        finally
        {
            await redemptions.SettleQuietlyAsync(reservation);
        }
    }

    /// <summary>
    /// Records that a new draft used the customer's own discount (<paramref name="used"/>, from
    /// <see cref="InvoiceDraftResult.UsedDiscount"/>) on the customer row, in the transaction that saves the draft.
    /// </summary>
    public static void AddCustomerDiscountUsage(PartitionBatch batch, Stored<Customer> owner, Discount? used)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(owner);
        var updated = owner.Value.WithDiscountUsage(used);
        if (!ReferenceEquals(updated, owner.Value))
        {
            batch.Replace(TableCustomerStore.Row, updated, owner.ETag);
        }
    }

    // ---------------------------------------------------------------- draft edits

    /// <summary>
    /// Edits a draft (Stripe's invoice update): description, footer, collection method with days until due or a due
    /// date, default tax rates, metadata, and its discount (<c>coupon</c>: a coupon redeemed for this invoice, which
    /// then wins over the customer's or subscription's; empty: no discount). Totals are recomputed. A use of the
    /// customer's or subscription's discount that the draft gives up is given back in the same transaction.
    /// </summary>
    public async Task<Invoice> UpdateDraftAsync(string invoiceId, InvoiceUpdateRequest body, BillingReferences references, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(references);
        var located = await LoadAsync(invoiceId, cancellationToken);
        var customerId = located.Value.CustomerId;
        var errors = new ValidationErrors();
        var rates = await references.TaxRatesAsync(body.DefaultTaxRates, "default_tax_rates", errors, cancellationToken);
        var coupon = body.Coupon is { Length: > 0 } couponId ? await references.CouponAsync(couponId, cancellationToken) : null;
        errors.AddIf(body.Coupon is { Length: > 0 } && coupon is null, "coupon", $"No such coupon: '{body.Coupon}'.");
        errors.AddIf(coupon is { AmountOff: not null } && !string.Equals(coupon.Currency, located.Value.Currency, StringComparison.OrdinalIgnoreCase),
            "coupon", $"Coupon '{body.Coupon}' takes an amount off in another currency than the invoice's.");
        errors.ThrowIfAny();
        var changes = new InvoiceDraftChanges
        {
            Description = body.Description,
            Footer = body.Footer,
            CollectionMethod = body.CollectionMethod,
            DaysUntilDue = body.DaysUntilDue,
            DueDate = body.DueDate,
            DefaultTaxRates = rates,
            Metadata = body.Metadata,
        };
        var now = await NowAsync(customerId, cancellationToken);
        var edited = located.Value.Update(changes, now); // 409 unless a draft, 400 for bad values: before anything is written
        if (body is { Description: null, Footer: null, CollectionMethod: null, DaysUntilDue: null, DueDate: null, Coupon: null, DefaultTaxRates: null, Metadata: null })
        {
            return located.Value;
        }

        var reservation = coupon is not null && !string.Equals(located.Value.AppliedDiscount?.Coupon.Id, coupon.Id, StringComparison.Ordinal)
            ? await redemptions.ReserveAsync(coupon.Id, customerId, invoiceId, null, now, cancellationToken)
            : null;
        try
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
                edited = loaded.Value.Update(changes, now);
                var batch = new PartitionBatch(customerId);
                if (body.Coupon is not null)
                {
                    var next = body.Coupon.Length == 0 ? null
                        : reservation?.Discount ?? (string.Equals(loaded.Value.AppliedDiscount?.Coupon.Id, body.Coupon, StringComparison.Ordinal) ? loaded.Value.AppliedDiscount : null);
                    if (next is null && body.Coupon.Length > 0)
                    {
                        // The draft held this coupon when the request began and lost it since: redeem it afresh.
                        throw new ConcurrencyConflictException($"The discount of invoice '{invoiceId}' changed concurrently; retry the request.");
                    }

                    if (!string.Equals(next?.Id, loaded.Value.AppliedDiscount?.Id, StringComparison.Ordinal))
                    {
                        await AddDiscountReleaseAsync(batch, loaded.Value, cancellationToken);
                        edited = edited.WithDiscount(next) with { Version = edited.Version };
                        if (reservation is not null && ReferenceEquals(next, reservation.Discount))
                        {
                            reservation.AddTo(batch);
                        }
                    }
                }

                batch.Replace(TableInvoicingStore.InvoiceRow(invoiceId), edited, loaded.ETag, TableInvoicingStore.InvoiceColumns(edited));
                if (await batch.TrySubmitAsync(store.Client, cancellationToken))
                {
                    await PublishUpdatedAsync(edited, cancellationToken);
                    return edited;
                }

                if (reservation is not null)
                {
                    await redemptions.EnsureStillReservedAsync(reservation, cancellationToken);
                }

                await Backoff(attempt, cancellationToken);
            }

            throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
        }
        finally
        {
            await redemptions.SettleQuietlyAsync(reservation);
        }
    }

    /// <summary>Adds one-off lines to a draft (of a subscription too, like Stripe's invoice items) and recomputes every total.</summary>
    public async Task<Invoice> AddLinesAsync(string invoiceId, InvoiceLinesRequest body, BillingReferences references, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(references);
        var located = await LoadAsync(invoiceId, cancellationToken);
        var customerId = located.Value.CustomerId;
        var errors = new ValidationErrors();
        errors.AddIf(body.Lines is null or { Count: 0 }, "lines", "At least one line is required.");
        errors.AddIf(body.Lines is { Count: > 100 }, "lines", "At most 100 lines can be added at once.");
        errors.ThrowIfAny();
        var now = await NowAsync(customerId, cancellationToken);
        var lines = await OneOffLinesAsync(body.Lines, "lines", customerId, located.Value.Currency, now, references, errors, cancellationToken);
        errors.ThrowIfAny();
        return await EditAsync(customerId, invoiceId, invoice => invoice.AddLines(lines), cancellationToken);
    }

    /// <summary>Removes a one-off line from a draft and recomputes every total (subscription and proration lines stay: 409).</summary>
    public async Task<Invoice> RemoveLineAsync(string invoiceId, string lineId, CancellationToken cancellationToken = default)
    {
        var located = await LoadAsync(invoiceId, cancellationToken);
        if (!Ids.IsValid(lineId, InvoiceLine.IdPrefix))
        {
            throw new NotFoundException("invoice_line", lineId);
        }

        return await EditAsync(located.Value.CustomerId, invoiceId, invoice => invoice.RemoveLine(lineId), cancellationToken);
    }

    /// <summary>
    /// Deletes a standalone draft (Stripe: only drafts, and not a subscription's). In the same transaction the proration
    /// items it consumed become pending again (billed by the next invoice, never lost) and a use of the customer's
    /// discount is given back; then its index row goes. A draft that holds an account-wide number reservation (row
    /// <c>claim|{id}</c> in partition <c>numbering</c>), or whose finalization with one has begun, is 409
    /// <c>invoice_number_reserved</c>: that number must end on it. A coupon redeemed for the draft stays counted.
    /// </summary>
    public async Task<Invoice> DeleteDraftAsync(string invoiceId, CancellationToken cancellationToken = default)
    {
        var located = await LoadAsync(invoiceId, cancellationToken);
        var customerId = located.Value.CustomerId;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var invoice = loaded.Value;
            invoice.EnsureDeletable();
            if (await store.GetAsync<NumberReservation>(AccountNumbering.Partition, AccountNumbering.ClaimRow(invoiceId), cancellationToken) is { } claim)
            {
                throw new InvalidStateException($"Invoice '{invoiceId}' holds the reserved number {claim.Value.Number}: it will be finalized with it, not deleted.", "invoice_number_reserved");
            }

            var batch = new PartitionBatch(customerId).Delete(TableInvoicingStore.InvoiceRow(invoiceId), loaded.ETag);
            var restored = invoice.Lines.Where(l => l is { Kind: InvoiceLineKind.Proration, PendingItemId: not null }).ToList();
            if (restored.Count > PartitionBatch.MaxActions - 3)
            {
                throw new InvalidStateException($"Invoice '{invoiceId}' holds {restored.Count} proration lines, too many to return in one transaction; finalize it instead.", "invoice_too_large_to_delete");
            }

            foreach (var line in restored)
            {
                batch.Insert(TableInvoicingStore.PendingItemRow(line.PendingItemId!), PendingInvoiceItem.FromProrationLine(line, customerId, invoice.Currency));
            }

            if (restored.Count > 0)
            {
                TableInvoicingStore.MarkPending(batch);
            }

            await AddDiscountReleaseAsync(batch, invoice, cancellationToken);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                await store.RemoveIndexAsync(TableInvoicingStore.InvoiceIndex, invoiceId, cancellationToken);
                await PublishAsync("invoice.deleted", invoice, cancellationToken: cancellationToken);
                return invoice;
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>Applies <paramref name="change"/> to a draft and saves it with its ETag, re-applying on a conflict.</summary>
    private async Task<Invoice> EditAsync(string customerId, string invoiceId, Func<Invoice, Invoice> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var edited = change(loaded.Value);
            if (await new PartitionBatch(customerId)
                .Replace(TableInvoicingStore.InvoiceRow(invoiceId), edited, loaded.ETag, TableInvoicingStore.InvoiceColumns(edited))
                .TrySubmitAsync(store.Client, cancellationToken))
            {
                await PublishUpdatedAsync(edited, cancellationToken);
                return edited;
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// When the draft's discount is the customer's or its subscription's (one use recorded there when the draft was
    /// made), adds the write that gives that use back: a <c>once</c> discount then reduces the next invoice instead.
    /// </summary>
    private async Task AddDiscountReleaseAsync(PartitionBatch batch, Invoice draft, CancellationToken cancellationToken)
    {
        if (draft.AppliedDiscount is not { } applied)
        {
            return;
        }

        if (await store.GetCustomerAsync(draft.CustomerId, cancellationToken) is { Value.Discount: { } own } owner && string.Equals(own.Id, applied.Id, StringComparison.Ordinal))
        {
            var released = owner.Value.WithDiscountUsage(own.ReleaseInvoice(draft.Id));
            if (!ReferenceEquals(released.Discount, own))
            {
                batch.Replace(TableCustomerStore.Row, released, owner.ETag);
            }
        }
        else if (draft.SubscriptionId is { } subscriptionId
            && await store.GetSubscriptionAsync(draft.CustomerId, subscriptionId, cancellationToken) is { Value.Discount: { } subscriptionDiscount } subscription
            && string.Equals(subscriptionDiscount.Id, applied.Id, StringComparison.Ordinal))
        {
            var released = subscription.Value.WithDiscountUsage(subscriptionDiscount.ReleaseInvoice(draft.Id));
            if (!ReferenceEquals(released.Discount, subscriptionDiscount))
            {
                batch.Replace(TableInvoicingStore.SubscriptionRow(subscriptionId), released, subscription.ETag, TableInvoicingStore.SubscriptionColumns(released));
            }
        }
    }

    /// <summary>Validated one-off lines (<c>amount = unit_amount × quantity</c>) for <paramref name="field"/>; problems go to <paramref name="errors"/>.</summary>
    private static async Task<List<InvoiceLine>> OneOffLinesAsync(IReadOnlyList<InvoiceItemRequest>? items, string field, string customerId, string currency, DateTimeOffset now,
        BillingReferences references, ValidationErrors errors, CancellationToken cancellationToken)
    {
        var lines = new List<InvoiceLine>();
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            if (items![i] is not { } item)
            {
                errors.Add($"{field}[{i}]", "Must be an item object.");
                continue;
            }

            var rates = await references.TaxRatesAsync(item.TaxRates, $"{field}[{i}].tax_rates", errors, cancellationToken);
            errors.AddIf(item.UnitAmount is null, $"{field}[{i}].unit_amount", "Is required.");
            errors.AddIf(item.Quantity is < 1, $"{field}[{i}].quantity", "Must be at least 1.");
            errors.AddIf(string.IsNullOrWhiteSpace(item.Description) || item.Description.Length > 500, $"{field}[{i}].description", "Is required, at most 500 characters.");
            if (errors.IsEmpty)
            {
                lines.Add(PendingInvoiceItem.OneOff(Ids.New(PendingInvoiceItem.IdPrefix, now), customerId, currency, item.Description!, item.UnitAmount!.Value,
                    item.Quantity ?? 1, now, taxRates: rates, discountable: item.Discountable ?? true).ToLine());
            }
        }

        return lines;
    }

    private Task PublishUpdatedAsync(Invoice invoice, CancellationToken cancellationToken) =>
        PublishAsync("invoice.updated", invoice, $"invoice.updated:{invoice.Id}:v{invoice.Version}", cancellationToken: cancellationToken);

    /// <summary>
    /// draft → open (or paid when nothing is due): takes the next number, applies the customer balance and records its
    /// transaction, and activates an incomplete subscription whose invoice needs no payment — all in one transaction.
    /// The PDF is stored afterwards. A finalized invoice cannot be finalized again (409). With account-wide numbering the
    /// number is reserved first, together with a due-work commitment that finishes this finalization if the caller stops
    /// after the reservation (see <see cref="AccountNumbering"/>); it is cancelled once the invoice is saved.
    /// </summary>
    public async Task<Invoice> FinalizeAsync(string customerId, string invoiceId, string actor, CancellationToken cancellationToken = default) =>
        (await FinalizeAsync(customerId, invoiceId, actor, null, null, null, cancellationToken)).Value;

    /// <summary>
    /// <see cref="FinalizeAsync(string, string, string, CancellationToken)"/> for a caller that already holds the invoice
    /// (<paramref name="known"/>, used by the first try only: a stale one fails its If-Match and is read again) and its
    /// customer (and its balance, <paramref name="knownBalance"/>, likewise for the first try). Returns the finalized
    /// invoice with the ETag it was saved with (<c>default</c> if the service returned none).
    /// </summary>
    internal async Task<Stored<Invoice>> FinalizeAsync(string customerId, string invoiceId, string actor, Stored<Invoice>? known, Customer? knownCustomer,
        BalanceRead? knownBalance, CancellationToken cancellationToken)
    {
        var customer = knownCustomer ?? await CustomerAsync(customerId, cancellationToken);
        Domain.Scheduling.DueWork? commitment = null;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var loaded = (attempt == 0 ? known : null) ?? await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var invoice = loaded.Value;
            if (invoice.Status != InvoiceStatus.Draft)
            {
                throw new InvalidStateException($"Invoice '{invoice.Id}' is {Subscription.Wire(invoice.Status)} and cannot be finalized.", "invoice_not_draft");
            }

            var now = await clock.NowForAsync(customer, cancellationToken);
            var batch = new PartitionBatch(customerId);
            string number;
            if (options.Value.IsAccountWide())
            {
                if (invoice.FinalizationStartedAt is null)
                {
                    // Marked before the number is reserved, so a concurrent delete (If-Match) either wins before the
                    // reservation, or fails: a reserved number always ends on this invoice.
                    var marked = invoice.MarkFinalizing(now);
                    if (!await new PartitionBatch(customerId)
                        .Replace(TableInvoicingStore.InvoiceRow(invoice.Id), marked, loaded.ETag, TableInvoicingStore.InvoiceColumns(marked))
                        .TrySubmitAsync(store.Client, cancellationToken))
                    {
                        await Backoff(attempt, cancellationToken);
                    }

                    continue;
                }

                (number, var reserved) = await accountNumbering.ReserveAsync(customerId, invoice.Id, now, cancellationToken);
                commitment ??= reserved;
            }
            else
            {
                var sequence = await store.GetAsync<NumberSequence>(customerId, TableInvoicingStore.SequenceRow, cancellationToken);
                (number, var next) = (sequence?.Value ?? NumberSequence.ForCustomer(customer)).Take(now);
                batch.Put(TableInvoicingStore.SequenceRow, next, sequence?.ETag);
            }

            var balance = attempt == 0 && knownBalance is { } read && string.Equals(read.Row?.Value.Currency ?? invoice.Currency, invoice.Currency, StringComparison.OrdinalIgnoreCase)
                ? read.Row
                : await BalanceAsync(customerId, invoice.Currency, cancellationToken);
            var current = balance?.Value ?? new CustomerBalance { CustomerId = customerId, Currency = invoice.Currency };
            var result = invoice.Finalize(number, current.Balance, now);
            batch.Replace(TableInvoicingStore.InvoiceRow(invoice.Id), result.Invoice, loaded.ETag, TableInvoicingStore.InvoiceColumns(result.Invoice));
            if (result.CustomerBalanceChange != 0)
            {
                AddBalanceChange(batch, balance, current, result.CustomerBalanceChange, BalanceTransactionType.AppliedToInvoice, invoice.Id, now);
            }

            var subscription = result.Invoice.Status == InvoiceStatus.Paid ? await AddSubscriptionPaidAsync(batch, result.Invoice, now, actor, cancellationToken) : null;
            if (await batch.TrySubmitForETagsAsync(store.Client, cancellationToken) is { } written)
            {
                if (commitment is not null)
                {
                    // The number is on the saved invoice: drop the commitment (if this is lost it runs, finds no draft, does nothing).
                    await accountNumbering.ReleaseCommitmentAsync(commitment, cancellationToken);
                }

                // Just finalized here, so its PDF is new (a concurrent download that made it first wins the conditional create).
                await documents.TryEnsureAsync(result.Invoice, customer, knownNew: true, cancellationToken);
                await PublishCommittedAsync("invoice.finalized", result.Invoice, cancellationToken);
                await PublishChangesAsync(invoice, result.Invoice, subscription, cancellationToken);
                return new Stored<Invoice>(result.Invoice, written.GetValueOrDefault(TableInvoicingStore.InvoiceRow(invoice.Id)));
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Collects an open invoice through <see cref="IInvoiceCollector"/>. An attempt left open by a crash is repeated
    /// with its own number (same idempotency key, so never a second charge); a payment waiting for authentication is
    /// re-read first and recorded if it succeeded, and no new payment starts while it still waits. With <paramref name="newAttempt"/> false
    /// (resuming a request) no attempt is started when one already ended; with true (an explicit pay) the next one is.
    /// </summary>
    public async Task<(Invoice Invoice, PaymentAttempt? Attempt)> CollectAsync(string customerId, string invoiceId, bool offSession, bool newAttempt, CancellationToken cancellationToken = default)
    {
        var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
        var invoice = loaded.Value;
        var attempts = await store.AttemptsAsync(customerId, invoiceId, cancellationToken);
        var last = attempts.Count > 0 ? attempts[^1] : null;
        if (invoice.Status is not (InvoiceStatus.Open or InvoiceStatus.Uncollectible) || invoice.AmountRemaining == 0)
        {
            return (invoice, last?.Value);
        }

        if (last is { Value: { Status: CollectionStatus.RequiresAction, PaymentId: { } started } })
        {
            // The customer may have authenticated since: settle that payment before ever starting another one.
            var current = await collector.RefreshAsync(invoice, started, cancellationToken);
            if (current.Status is CollectionStatus.Succeeded or CollectionStatus.RequiresAction)
            {
                return current.Status == CollectionStatus.RequiresAction
                    ? (invoice, last.Value)
                    : await RecordOutcomeAsync(customerId, invoiceId, last.Value.Number, current, cancellationToken);
            }

            await RecordOutcomeAsync(customerId, invoiceId, last.Value.Number, current, cancellationToken);
            last = (await store.AttemptsAsync(customerId, invoiceId, cancellationToken))[^1];
        }

        int number;
        if (last is { Value.Status: null })
        {
            number = last.Value.Number;
        }
        else if (!newAttempt && last is not null)
        {
            return (invoice, last.Value);
        }
        else
        {
            number = (last?.Value.Number ?? 0) + 1;
            var intent = new PaymentAttempt { InvoiceId = invoiceId, Number = number, StartedAt = await NowAsync(customerId, cancellationToken), OffSession = offSession };
            if (!await new PartitionBatch(customerId).Insert(TableInvoicingStore.AttemptRow(invoiceId, number), intent).TrySubmitAsync(store.Client, cancellationToken))
            {
                throw new InvalidStateException($"A payment of invoice '{invoiceId}' is already in progress.", "payment_in_progress");
            }
        }

        var customer = await CustomerAsync(customerId, cancellationToken);
        var result = await collector.CollectAsync(invoice, customer, number, offSession, cancellationToken);
        return await RecordOutcomeAsync(customerId, invoiceId, number, result, cancellationToken);
    }

    /// <summary>
    /// Collects an invoice the caller has just finalized (<paramref name="finalized"/>, with the ETag it was saved with)
    /// from <paramref name="customer"/>: no attempt can exist before finalization, so attempt 1 is inserted straight away
    /// (no query of the attempts) and its outcome is recorded on the rows as written, without reading them back. If
    /// attempt 1 exists after all (a concurrent pay) or the ETag is unknown, this is <see cref="CollectAsync"/>.
    /// </summary>
    internal async Task<(Invoice Invoice, PaymentAttempt? Attempt)> CollectFinalizedAsync(Stored<Invoice> finalized, Customer customer, bool offSession,
        Stored<Subscription>? knownSubscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finalized);
        ArgumentNullException.ThrowIfNull(customer);
        var invoice = finalized.Value;
        if (finalized.ETag != default && invoice.Status == InvoiceStatus.Open && invoice.AmountRemaining > 0)
        {
            var row = TableInvoicingStore.AttemptRow(invoice.Id, 1);
            var intent = new PaymentAttempt { InvoiceId = invoice.Id, Number = 1, StartedAt = await NowAsync(invoice.CustomerId, cancellationToken), OffSession = offSession };
            var written = await new PartitionBatch(invoice.CustomerId).Insert(row, intent).TrySubmitForETagsAsync(store.Client, cancellationToken);
            if (written is not null && written.TryGetValue(row, out var etag))
            {
                var result = await collector.CollectAsync(invoice, customer, 1, offSession, cancellationToken);
                return await RecordOutcomeAsync(invoice.CustomerId, invoice.Id, 1, result, new Stored<PaymentAttempt>(intent, etag), finalized, knownSubscription, cancellationToken);
            }
        }

        return await CollectAsync(invoice.CustomerId, invoice.Id, offSession, newAttempt: true, cancellationToken);
    }

    /// <summary>
    /// Mirrors the gateway's current state of <paramref name="gatewayPaymentId"/> on the invoice attempt that started it
    /// (after 3-D Secure in the browser, or an attempt whose outcome a crash left unknown). False when no attempt of the
    /// invoice matches (yet).
    /// </summary>
    public async Task<bool> ReconcilePaymentAsync(string invoiceId, string gatewayPaymentId, CancellationToken cancellationToken = default) =>
        await ReconcilePaymentAsync(invoiceId, gatewayPaymentId, null, null, cancellationToken);

    /// <summary>
    /// <see cref="ReconcilePaymentAsync(string, string, CancellationToken)"/> with the customer and attempt number the
    /// payment's metadata names: the attempt is then one point read instead of a query (a table query scans on Azurite),
    /// and an outcome already recorded is not asked of the gateway again. Anything that does not match — unknown ids, an
    /// attempt of another payment — falls back to the lookup by invoice.
    /// </summary>
    public async Task<bool> ReconcilePaymentAsync(string invoiceId, string gatewayPaymentId, string? customerId, int? attemptNumber, CancellationToken cancellationToken = default)
    {
        if (customerId is not null && attemptNumber is > 0 and < 10_000 && Ids.IsValid(customerId, Customer.IdPrefix) && Ids.IsValid(invoiceId, Invoice.IdPrefix)
            && await store.GetAsync<PaymentAttempt>(customerId, TableInvoicingStore.AttemptRow(invoiceId, attemptNumber.Value), cancellationToken) is { } known
            && (known.Value.PaymentId is null || known.Value.PaymentId == gatewayPaymentId))
        {
            if (known.Value.Status is not null and not CollectionStatus.RequiresAction)
            {
                if (nextStepEnsured.Contains(invoiceId))
                {
                    return true;
                }

                // Recorded before: only make sure of the subscription's next step, as recording it again would.
                if (await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is { } recorded)
                {
                    await EnsureNextStepAsync(recorded.Value, cancellationToken);
                }

                return true;
            }

            if (await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) is { } owned)
            {
                var settled = await collector.RefreshAsync(owned.Value, gatewayPaymentId, cancellationToken);
                await RecordOutcomeAsync(customerId, invoiceId, attemptNumber.Value, settled, known, owned, null, cancellationToken);
                return true;
            }
        }

        if (await store.FindInvoiceAsync(invoiceId, cancellationToken) is not { } located)
        {
            return false;
        }

        var invoice = located.Value;
        var attempts = await store.AttemptsAsync(invoice.CustomerId, invoiceId, cancellationToken);
        var attempt = attempts.LastOrDefault(a => a.Value.PaymentId == gatewayPaymentId) ?? attempts.LastOrDefault(a => a.Value.Status is null);
        if (attempt is null)
        {
            return false;
        }

        var current = await collector.RefreshAsync(invoice, gatewayPaymentId, cancellationToken);
        await RecordOutcomeAsync(invoice.CustomerId, invoiceId, attempt.Value.Number, current, cancellationToken);
        return true;
    }

    /// <summary>
    /// True when an event about <paramref name="gatewayPaymentId"/> could change nothing: attempt
    /// <paramref name="attemptNumber"/> of the invoice holds that payment with its final outcome, and this instance
    /// scheduled the paid invoice's next step. <see cref="ReconcilePaymentAsync(string, string, string?, int?, CancellationToken)"/>
    /// would return at once for it, so the Stripe webhook records such an event as processed without queueing it.
    /// </summary>
    public async Task<bool> IsSettledAsync(string invoiceId, string gatewayPaymentId, string customerId, int attemptNumber, CancellationToken cancellationToken = default) =>
        nextStepEnsured.Contains(invoiceId) && attemptNumber is > 0 and < 10_000 && Ids.IsValid(customerId, Customer.IdPrefix) && Ids.IsValid(invoiceId, Invoice.IdPrefix)
        && await store.GetAsync<PaymentAttempt>(customerId, TableInvoicingStore.AttemptRow(invoiceId, attemptNumber), cancellationToken) is { Value: { Status: not null and not CollectionStatus.RequiresAction } known }
        && known.PaymentId == gatewayPaymentId;

    /// <summary>Completes attempt <paramref name="number"/> with its outcome; a success pays the invoice and activates its subscription in the same transaction.</summary>
    public Task<(Invoice Invoice, PaymentAttempt Attempt)> RecordOutcomeAsync(string customerId, string invoiceId, int number, CollectionResult result, CancellationToken cancellationToken = default) =>
        RecordOutcomeAsync(customerId, invoiceId, number, result, null, null, null, cancellationToken);

    /// <summary>
    /// Records an outcome starting from rows the caller holds (<paramref name="knownAttempt"/>, <paramref name="knownInvoice"/>,
    /// <paramref name="knownSubscription"/> with their ETags, e.g. as it just wrote them): the first try uses them, a stale
    /// one fails its If-Match and the retry reads them again.
    /// </summary>
    private async Task<(Invoice Invoice, PaymentAttempt Attempt)> RecordOutcomeAsync(string customerId, string invoiceId, int number, CollectionResult result,
        Stored<PaymentAttempt>? knownAttempt, Stored<Invoice>? knownInvoice, Stored<Subscription>? knownSubscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var row = TableInvoicingStore.AttemptRow(invoiceId, number);
            var stored = (attempt == 0 ? knownAttempt : null) ?? await store.GetAsync<PaymentAttempt>(customerId, row, cancellationToken) ?? throw new NotFoundException("payment_attempt", row);
            var loaded = (attempt == 0 ? knownInvoice : null) ?? await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            // An attempt's outcome is final, except requires_action, which ends when the customer authenticates (or gives up).
            if (stored.Value.Status is not null and not CollectionStatus.RequiresAction || result.Status == stored.Value.Status)
            {
                // Recorded before, e.g. a redelivered webhook after a crash between paying the invoice and scheduling the
                // subscription's next step: make sure of that step (an idempotent upsert), or it would never renew.
                await EnsureNextStepAsync(loaded.Value, cancellationToken);
                return (loaded.Value, stored.Value);
            }

            var now = await NowAsync(customerId, cancellationToken);
            var done = stored.Value with
            {
                Status = result.Status,
                PaymentId = result.PaymentId,
                ClientSecret = result.ClientSecret,
                DeclineCode = result.DeclineCode,
                DeclineClass = result.DeclineClass,
                Message = result.Message,
                AmountCollected = result.AmountCollected,
                CompletedAt = now,
            };
            var batch = new PartitionBatch(customerId).Replace(row, done, stored.ETag);
            var invoice = loaded.Value;
            int? recovered = null;
            Subscription? subscription = null;
            if (result.Status == CollectionStatus.Succeeded && invoice.Status is InvoiceStatus.Open or InvoiceStatus.Uncollectible && invoice.AmountRemaining > 0)
            {
                var amount = result.AmountCollected > 0 ? Math.Min(result.AmountCollected, invoice.AmountRemaining) : invoice.AmountRemaining;
                invoice = invoice.RecordPayment(amount, now);
                invoice = SettleDunning(loaded.Value, invoice, now, Actors.System, out recovered);
                batch.Replace(TableInvoicingStore.InvoiceRow(invoice.Id), invoice, loaded.ETag, TableInvoicingStore.InvoiceColumns(invoice));
                if (invoice.Status == InvoiceStatus.Paid)
                {
                    subscription = await AddSubscriptionPaidAsync(batch, invoice, now, Actors.System, attempt == 0 ? knownSubscription : null, cancellationToken);
                }
            }

            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                CountRecovery(recovered);
                await PublishChangesAsync(loaded.Value, invoice, subscription, cancellationToken);
                var outcome = result.Status switch
                {
                    CollectionStatus.RequiresAction => "invoice.payment_action_required",
                    CollectionStatus.Declined or CollectionStatus.Failed => "invoice.payment_failed",
                    _ => null,
                };
                if (outcome is not null)
                {
                    await PublishAsync(outcome, invoice, $"{outcome}:{invoiceId}:{number}", done, cancellationToken);
                }

                return (invoice, done);
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>The next step of a paid invoice's subscription is scheduled (an idempotent upsert).</summary>
    private async Task EnsureNextStepAsync(Invoice invoice, CancellationToken cancellationToken)
    {
        if (invoice is { Status: InvoiceStatus.Paid, SubscriptionId: { } subscriptionId }
            && await store.GetSubscriptionAsync(invoice.CustomerId, subscriptionId, cancellationToken) is { } subscription)
        {
            await schedule.ScheduleNextAsync(subscription.Value, cancellationToken);
            nextStepEnsured.Set(invoice.Id, true);
        }
    }

    /// <summary>Applies a state change to one invoice (void, uncollectible, paid out of band) and keeps its subscription in step.</summary>
    public async Task<Invoice> TransitionAsync(string customerId, string invoiceId, Func<Invoice, DateTimeOffset, Invoice> change, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var now = await NowAsync(customerId, cancellationToken);
            var updated = SettleDunning(loaded.Value, change(loaded.Value, now), now, actor, out var recovered);
            var batch = new PartitionBatch(customerId).Replace(TableInvoicingStore.InvoiceRow(invoiceId), updated, loaded.ETag, TableInvoicingStore.InvoiceColumns(updated));
            var subscription = updated.Status == InvoiceStatus.Paid && loaded.Value.Status != InvoiceStatus.Paid
                ? await AddSubscriptionPaidAsync(batch, updated, now, actor, cancellationToken)
                : null;
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                CountRecovery(recovered);
                await PublishChangesAsync(loaded.Value, updated, subscription, cancellationToken);
                return updated;
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Issues a credit note that moves no money: the note, the invoice's new amounts and (credit to balance) the balance
    /// and its transaction in one transaction. Refund credit notes are issued by <see cref="RefundCreditNoteService"/>.
    /// </summary>
    public async Task<(CreditNote Note, Invoice Invoice)> IssueCreditNoteAsync(string invoiceId, CreditNoteInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Outcome == CreditNoteOutcome.Refund)
        {
            throw new ArgumentException("Refund credit notes are issued by RefundCreditNoteService.", nameof(input));
        }

        var located = await LoadAsync(invoiceId, cancellationToken);
        var customerId = located.Value.CustomerId;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var loaded = await store.GetInvoiceAsync(customerId, invoiceId, cancellationToken) ?? throw new NotFoundException("invoice", invoiceId);
            var now = await NowAsync(customerId, cancellationToken);
            var result = CreditNote.Issue(loaded.Value, input, Ids.New(CreditNote.IdPrefix, now), now);
            result = result with { Invoice = SettleDunning(loaded.Value, result.Invoice, now, Actors.System, out var recovered) };
            var batch = new PartitionBatch(customerId)
                .Replace(TableInvoicingStore.InvoiceRow(invoiceId), result.Invoice, loaded.ETag, TableInvoicingStore.InvoiceColumns(result.Invoice))
                .Insert(TableInvoicingStore.CreditNoteRow(result.CreditNote.Id), result.CreditNote, new Dictionary<string, object?> { ["InvoiceId"] = invoiceId });
            if (result.CustomerBalanceChange != 0)
            {
                var balance = await BalanceAsync(customerId, loaded.Value.Currency, cancellationToken);
                var current = balance?.Value ?? new CustomerBalance { CustomerId = customerId, Currency = loaded.Value.Currency };
                AddBalanceChange(batch, balance, current, result.CustomerBalanceChange, BalanceTransactionType.CreditNote, result.CreditNote.Id, now);
            }

            var subscription = result.Invoice.Status == InvoiceStatus.Paid && loaded.Value.Status != InvoiceStatus.Paid
                ? await AddSubscriptionPaidAsync(batch, result.Invoice, now, Actors.System, cancellationToken)
                : null;
            await store.AddIndexAsync(TableInvoicingStore.CreditNoteIndex, result.CreditNote.Id, customerId, cancellationToken);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                CountRecovery(recovered);
                await notifier.PublishAsync("credit_note.created", customerId, CreditNoteResponse.From(result.CreditNote), $"credit_note.created:{result.CreditNote.Id}", cancellationToken);
                await PublishChangesAsync(loaded.Value, result.Invoice, subscription, cancellationToken);
                return (result.CreditNote, result.Invoice);
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException("The invoice was changed concurrently too many times; retry the request.");
    }

    /// <summary>
    /// Merchant events for a committed change: <c>invoice.paid</c>, <c>invoice.voided</c>,
    /// <c>invoice.marked_uncollectible</c>, and, when a payment activated the subscription, its next step scheduled and
    /// <c>customer.subscription.updated</c>. The invoice's event is published only by the writer of its transition
    /// (<see cref="PublishCommittedAsync"/>); the subscription's, which other steps publish too, carries a dedupe key.
    /// </summary>
    private async Task PublishChangesAsync(Invoice before, Invoice after, Subscription? subscriptionAfter, CancellationToken cancellationToken)
    {
        if (before.Status == after.Status)
        {
            return;
        }

        var type = after.Status switch
        {
            InvoiceStatus.Paid => "invoice.paid",
            InvoiceStatus.Void => "invoice.voided",
            InvoiceStatus.Uncollectible => "invoice.marked_uncollectible",
            _ => null,
        };
        if (type is not null)
        {
            await PublishCommittedAsync(type, after, cancellationToken);
        }

        if (after.Status == InvoiceStatus.Paid && after.SubscriptionId is { } subscriptionId
            && (subscriptionAfter ?? (await store.GetSubscriptionAsync(after.CustomerId, subscriptionId, cancellationToken))?.Value) is { } subscription)
        {
            await schedule.ScheduleNextAsync(subscription, cancellationToken);
            nextStepEnsured.Set(after.Id, true);
            await notifier.PublishAsync("customer.subscription.updated", after.CustomerId, SubscriptionResponse.From(subscription),
                $"customer.subscription.updated:{subscriptionId}:v{subscription.Version}", cancellationToken);
        }
    }

    /// <summary>
    /// Publishes an event that reports a change exactly one write committed — the draft's insert, or an If-Match status
    /// transition (finalized, paid, void, uncollectible) — and only its writer publishes it, right after the commit, so it
    /// cannot be published twice and needs no de-duplication row (one storage write instead of two).
    /// </summary>
    private Task PublishCommittedAsync(string type, Invoice invoice, CancellationToken cancellationToken) =>
        notifier.PublishAsync(type, invoice.CustomerId, InvoiceResponse.From(invoice), null, cancellationToken);

    private Task PublishAsync(string type, Invoice invoice, string? dedupeKey = null, PaymentAttempt? attempt = null, CancellationToken cancellationToken = default) =>
        notifier.PublishAsync(type, invoice.CustomerId, InvoiceResponse.From(invoice, attempt), dedupeKey ?? $"{type}:{invoice.Id}", cancellationToken);

    /// <summary>The customer's "now": real time, or its test clock's time.</summary>
    private Task<DateTimeOffset> NowAsync(string customerId, CancellationToken cancellationToken) =>
        clock.NowForAsync(customerId, cancellationToken);

    private static void AddBalanceChange(PartitionBatch batch, Stored<CustomerBalance>? stored, CustomerBalance current, long change, BalanceTransactionType type, string reference, DateTimeOffset now)
    {
        var (next, transaction) = current.Apply(change, type, reference, Ids.New(BalanceTransactionPrefix, now), now);
        batch.Put(TableInvoicingStore.BalanceRow(current.Currency), next, stored?.ETag);
        batch.Insert(TableInvoicingStore.BalanceTransactionRow(transaction.Id), transaction);
    }

    /// <summary>
    /// A paid invoice of an incomplete / past_due / unpaid subscription makes it active, in the same transaction. Returns
    /// the invoice's subscription as it is once the batch commits (read here; null when it has none), so publishing after
    /// the commit need not read it again.
    /// </summary>
    private Task<Subscription?> AddSubscriptionPaidAsync(PartitionBatch batch, Invoice invoice, DateTimeOffset now, string actor, CancellationToken cancellationToken) =>
        AddSubscriptionPaidAsync(batch, invoice, now, actor, null, cancellationToken);

    /// <remarks><paramref name="known"/>: the subscription as the caller holds it (with its ETag), used instead of reading it.</remarks>
    private async Task<Subscription?> AddSubscriptionPaidAsync(PartitionBatch batch, Invoice invoice, DateTimeOffset now, string actor, Stored<Subscription>? known,
        CancellationToken cancellationToken)
    {
        if (invoice.SubscriptionId is not { } subscriptionId
            || (known is { Value.Id: var knownId } && knownId == subscriptionId ? known : await store.GetSubscriptionAsync(invoice.CustomerId, subscriptionId, cancellationToken)) is not { } stored)
        {
            return null;
        }

        if (!string.Equals(stored.Value.LatestInvoiceId, invoice.Id, StringComparison.Ordinal)
            || stored.Value.Status is not (SubscriptionStatus.Incomplete or SubscriptionStatus.PastDue or SubscriptionStatus.Unpaid))
        {
            return stored.Value;
        }

        var paid = stored.Value.MarkPaymentSucceeded(now, actor);
        batch.Replace(TableInvoicingStore.SubscriptionRow(subscriptionId), paid, stored.ETag, TableInvoicingStore.SubscriptionColumns(paid));
        return paid;
    }

    /// <summary>
    /// Keeps an invoice's dunning in step with its status: paid while in dunning → recovered (the retry number is
    /// returned in <paramref name="recovered"/> for the metric); void or uncollectible → stopped. Pending retry items
    /// then find no retry expected and do nothing.
    /// </summary>
    private static Invoice SettleDunning(Invoice before, Invoice after, DateTimeOffset now, string actor, out int? recovered)
    {
        recovered = null;
        if (after.Dunning is not { IsActive: true } dunning || before.Status == after.Status)
        {
            return after;
        }

        switch (after.Status)
        {
            case InvoiceStatus.Paid:
                recovered = dunning.Attempt;
                return after with { Dunning = dunning.Recover(now) };
            case InvoiceStatus.Void or InvoiceStatus.Uncollectible:
                return after with { Dunning = dunning.Stop(now, actor) };
            default:
                return after;
        }
    }

    private void CountRecovery(int? attempt)
    {
        if (attempt is { } n)
        {
            metrics.DunningRecovered(n);
        }
    }

    /// <summary>Saves a new dunning state on the invoice read as <paramref name="loaded"/> (ETag); false on a conflict.</summary>
    public async Task<bool> TrySaveDunningAsync(Stored<Invoice> loaded, DunningState dunning, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var updated = loaded.Value with { Dunning = dunning };
        return await new PartitionBatch(updated.CustomerId)
            .Replace(TableInvoicingStore.InvoiceRow(updated.Id), updated, loaded.ETag, TableInvoicingStore.InvoiceColumns(updated))
            .TrySubmitAsync(store.Client, cancellationToken);
    }

    private static Task Backoff(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
}
