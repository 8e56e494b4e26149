using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Domain.Subscriptions;

namespace Billing.Functions.Storage;

/// <summary>A record read with the ETag it must be written back with.</summary>
public sealed record Stored<T>(T Value, ETag ETag);

/// <summary>Points from a public id to the customer partition that holds the object (and lists all of a kind newest first).</summary>
public sealed record IndexEntry(string Id, string CustomerId);

/// <summary>
/// One attempt to collect an invoice. Written (intent) before the gateway is called and completed (outcome) after, so a
/// crash in between leaves an open attempt that is repeated with the same number, hence the same idempotency key.
/// </summary>
public sealed record PaymentAttempt
{
    public required string InvoiceId { get; init; }

    public int Number { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public bool OffSession { get; init; }

    /// <summary>Null while the outcome is unknown.</summary>
    public CollectionStatus? Status { get; init; }

    public string? PaymentId { get; init; }

    public string? ClientSecret { get; init; }

    public string? DeclineCode { get; init; }

    public DeclineClass? DeclineClass { get; init; }

    public string? Message { get; init; }

    public long AmountCollected { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }
}

/// <summary>
/// Whether the customer may have pending invoice items (row <see cref="TableInvoicingStore.PendingMarkerRow"/>): set in
/// the transaction of every insert of one, cleared only by a reader that listed none, with the ETag it read before listing.
/// </summary>
public sealed record PendingMarker(bool MayHaveItems);

/// <summary>Remembers which subscription a client's POST (by Idempotency-Key) created, so a retry after a crash resumes it.</summary>
public sealed record CreateRequestEntry(string SubscriptionId);

/// <summary>
/// Subscriptions, invoices and everything that changes with them, in the <c>Billing</c> table. Partition = customer id;
/// row keys are kind-prefixed: <c>sub|{desc id}</c>, <c>inv|{desc id}</c>, <c>ii|{desc id}</c> (pending invoice items),
/// <c>cn|{desc id}</c> (credit notes), <c>bal|{CUR}</c> (balance per currency), <c>baltx|{desc id}</c> (balance
/// transactions), <c>seq</c> (per-customer invoice numbers), <c>pay|{invoice id}|{nnnn}</c> (payment attempts),
/// <c>req|{hash}</c> (create requests), <c>pending</c> (<see cref="PendingMarker"/>) and <c>redeemed|{discount id}</c> (coupon redemption fences, see
/// <see cref="Invoices.CouponRedemptions"/>), beside the customer row itself (which holds the customer's discount). Because they share a partition, an invoice, its subscription, the balance and
/// the number sequence change together in one entity-group transaction (<see cref="PartitionBatch"/>).
/// Index partitions <c>subscriptions|…</c>, <c>invoices|…</c> and <c>credit_notes|…</c> (one per minute of the id, see
/// <see cref="MinutePartitions"/>) map an id to its customer (row key = descending id, so they also list everything newest first); an index row is written before its object,
/// so a crash leaves at most an index row without an object, which reads skip. Coupons and their redemptions
/// (<c>coupon|{id}</c>, <c>redemption|{coupon}|{target}</c>) live in partition <c>coupons</c>, tax rates in <c>tax_rates</c>.
/// </summary>
public sealed class TableInvoicingStore(StorageClients clients)
{
    public const string SubscriptionIndex = "subscriptions|";
    public const string InvoiceIndex = "invoices|";
    public const string CreditNoteIndex = "credit_notes|";
    public const string CouponPartition = "coupons";
    public const string TaxRatePartition = "tax_rates";
    public const string SequenceRow = "seq";
    public const string PendingMarkerRow = "pending";

    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public TableClient Client => table.Client;

    public JsonTable Table => table;

    public static string SubscriptionRow(string id) => "sub|" + Keys.Descending(id);

    public static string InvoiceRow(string id) => "inv|" + Keys.Descending(id);

    public static string PendingItemRow(string id) => "ii|" + Keys.Descending(id);

    public static string CreditNoteRow(string id) => "cn|" + Keys.Descending(id);

    public static string BalanceRow(string currency) => "bal|" + currency.ToUpperInvariant();

    public static string BalanceTransactionRow(string id) => "baltx|" + Keys.Descending(id);

    public static string AttemptRow(string invoiceId, int number) => $"pay|{invoiceId}|{number.ToString("D4", CultureInfo.InvariantCulture)}";

    public static string RequestRow(string hash) => "req|" + hash;

    public static string CouponRow(string id) => "coupon|" + id;

    public static string TaxRateRow(string id) => "txr|" + Keys.Descending(id);

    public static Dictionary<string, object?> SubscriptionColumns(Subscription s) => new() { ["Status"] = Subscription.Wire(s.Status) };

    public static Dictionary<string, object?> InvoiceColumns(Invoice i) => new() { ["Status"] = Subscription.Wire(i.Status), ["SubscriptionId"] = i.SubscriptionId ?? "" };

    public async Task<Stored<T>?> GetAsync<T>(string partition, string row, CancellationToken cancellationToken = default) =>
        await table.GetAsync<T>(partition, row, cancellationToken) is { } loaded ? new Stored<T>(loaded.Value, loaded.ETag) : null;

    public Task AddIndexAsync(string index, string id, string customerId, CancellationToken cancellationToken = default) =>
        table.Client.UpsertEntityAsync(JsonTable.ToEntity(MinutePartitions.Of(index, id), Keys.Descending(id), new IndexEntry(id, customerId)), TableUpdateMode.Replace, cancellationToken);

    /// <summary>Removes an index row (its object is gone); a missing row is fine.</summary>
    public async Task RemoveIndexAsync(string index, string id, CancellationToken cancellationToken = default)
    {
        try
        {
            await table.Client.DeleteEntityAsync(MinutePartitions.Of(index, id), Keys.Descending(id), ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    public async Task<string?> CustomerOfAsync(string index, string id, CancellationToken cancellationToken = default) =>
        await table.GetAsync<IndexEntry>(MinutePartitions.Of(index, id), Keys.Descending(id), cancellationToken) is { } row ? row.Value.CustomerId : null;

    /// <summary>The customer record with its ETag, to change together with the rows of its partition (e.g. its discount's usage).</summary>
    public Task<Stored<Customer>?> GetCustomerAsync(string customerId, CancellationToken cancellationToken = default) =>
        GetAsync<Customer>(customerId, TableCustomerStore.Row, cancellationToken);

    // ---------------------------------------------------------------- subscriptions

    public Task<Stored<Subscription>?> GetSubscriptionAsync(string customerId, string id, CancellationToken cancellationToken = default) =>
        GetAsync<Subscription>(customerId, SubscriptionRow(id), cancellationToken);

    public async Task<Stored<Subscription>?> FindSubscriptionAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Subscription.IdPrefix) && await CustomerOfAsync(SubscriptionIndex, id, cancellationToken) is { } customer
            ? await GetSubscriptionAsync(customer, id, cancellationToken)
            : null;

    public Task<ListPage<Subscription>> ListSubscriptionsAsync(string? customerId, string? status, int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        customerId is not null
            ? table.ListAsync<Subscription>(customerId, "sub|", startingAfter is null ? null : SubscriptionRow(startingAfter), limit,
                status is null ? null : $"Status eq {Keys.Quote(status)}", cancellationToken)
            : ListThroughIndexAsync(SubscriptionIndex, Subscription.IdPrefix, limit, startingAfter,
                (entry, ct) => GetSubscriptionAsync(entry.CustomerId, entry.Id, ct), s => status is null || Subscription.Wire(s.Status) == status, cancellationToken);

    // ---------------------------------------------------------------- invoices

    public Task<Stored<Invoice>?> GetInvoiceAsync(string customerId, string id, CancellationToken cancellationToken = default) =>
        GetAsync<Invoice>(customerId, InvoiceRow(id), cancellationToken);

    public async Task<Stored<Invoice>?> FindInvoiceAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Invoice.IdPrefix) && await CustomerOfAsync(InvoiceIndex, id, cancellationToken) is { } customer
            ? await GetInvoiceAsync(customer, id, cancellationToken)
            : null;

    public Task<ListPage<Invoice>> ListInvoicesAsync(string? customerId, string? status, string? subscriptionId, int limit, string? startingAfter, CancellationToken cancellationToken = default)
    {
        if (customerId is not null)
        {
            var filters = new List<string>();
            if (status is not null)
            {
                filters.Add($"Status eq {Keys.Quote(status)}");
            }

            if (subscriptionId is not null)
            {
                filters.Add($"SubscriptionId eq {Keys.Quote(subscriptionId)}");
            }

            return table.ListAsync<Invoice>(customerId, "inv|", startingAfter is null ? null : InvoiceRow(startingAfter), limit,
                filters.Count == 0 ? null : string.Join(" and ", filters), cancellationToken);
        }

        return ListThroughIndexAsync(InvoiceIndex, Invoice.IdPrefix, limit, startingAfter, (entry, ct) => GetInvoiceAsync(entry.CustomerId, entry.Id, ct),
            i => (status is null || Subscription.Wire(i.Status) == status) && (subscriptionId is null || i.SubscriptionId == subscriptionId), cancellationToken);
    }

    /// <summary>Everything already billed for a subscription (all its invoices, whatever their status).</summary>
    public async Task<IReadOnlyList<Invoice>> InvoicesOfSubscriptionAsync(string customerId, string subscriptionId, CancellationToken cancellationToken = default)
    {
        var all = new List<Invoice>();
        string? after = null;
        while (true)
        {
            var page = await table.ListAsync<Invoice>(customerId, "inv|", after, 1000, $"SubscriptionId eq {Keys.Quote(subscriptionId)}", cancellationToken);
            all.AddRange(page.Data);
            if (!page.HasMore || page.Data.Count == 0)
            {
                return all;
            }

            after = InvoiceRow(page.Data[^1].Id);
        }
    }

    /// <summary>
    /// What the renewal of a subscription stored before its ledger (<see cref="Subscription.Invoiced"/>) needs, in one
    /// query of the customer's partition: everything already billed for the subscription (all its invoices) and the
    /// customer's pending items. One scan instead of two: a table query is a scan of the whole
    /// table on Azurite (point reads are indexed), so the renewal's cost would otherwise grow with every row stored.
    /// </summary>
    public async Task<(IReadOnlyList<Invoice> Invoices, IReadOnlyList<Stored<PendingInvoiceItem>> Pending)> RenewalInputsAsync(string customerId, string subscriptionId,
        CancellationToken cancellationToken = default)
    {
        var filter = $"PartitionKey eq {Keys.Quote(customerId)} and ((RowKey ge 'ii|' and RowKey lt {Keys.Quote(Keys.PrefixEnd("ii|"))})"
            + $" or (RowKey ge 'inv|' and RowKey lt {Keys.Quote(Keys.PrefixEnd("inv|"))} and SubscriptionId eq {Keys.Quote(subscriptionId)}))";
        var invoices = new List<Invoice>();
        var items = new List<Stored<PendingInvoiceItem>>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (entity.RowKey.StartsWith("ii|", StringComparison.Ordinal))
            {
                items.Add(new Stored<PendingInvoiceItem>(JsonTable.FromEntity<PendingInvoiceItem>(entity), entity.ETag));
            }
            else
            {
                invoices.Add(JsonTable.FromEntity<Invoice>(entity));
            }
        }

        return (invoices, OrderPending(items));
    }

    /// <summary>
    /// The customer's pending items, without a table query when the customer's <see cref="PendingMarker"/> says there are
    /// none (a query scans the whole table on Azurite; most customers have no pending items). A listing that finds none
    /// clears the marker, only if no insert set it since it was read.
    /// </summary>
    public async Task<IReadOnlyList<Stored<PendingInvoiceItem>>> PendingItemsIfAnyAsync(string customerId, CancellationToken cancellationToken = default)
    {
        var marker = await table.GetAsync<PendingMarker>(customerId, PendingMarkerRow, cancellationToken);
        if (marker is { Value.MayHaveItems: false })
        {
            return [];
        }

        var items = await PendingItemsAsync(customerId, cancellationToken);
        if (items.Count == 0)
        {
            await ClearPendingMarkerAsync(customerId, marker?.ETag, cancellationToken);
        }

        return items;
    }

    /// <summary>Records that the customer has no pending items: inserted when absent, else replaced only at <paramref name="etag"/>; losing either race is fine.</summary>
    public Task ClearPendingMarkerAsync(string customerId, ETag? etag, CancellationToken cancellationToken = default) =>
        ClearPendingMarkerAsync(table, customerId, etag, cancellationToken);

    /// <inheritdoc cref="ClearPendingMarkerAsync(string, ETag?, CancellationToken)"/>
    public static async Task ClearPendingMarkerAsync(JsonTable billing, string customerId, ETag? etag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(billing);
        try
        {
            if (etag is { } read)
            {
                await billing.TryReplaceAsync(customerId, PendingMarkerRow, new PendingMarker(false), read, cancellationToken: cancellationToken);
            }
            else
            {
                await billing.InsertAsync(customerId, PendingMarkerRow, new PendingMarker(false), cancellationToken: cancellationToken);
            }
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
        }
    }

    /// <summary>Adds to <paramref name="batch"/> what every insert of a pending item needs with it: the marker set.</summary>
    public static PartitionBatch MarkPending(PartitionBatch batch) => batch.Upsert(PendingMarkerRow, new PendingMarker(true));

    public async Task<IReadOnlyList<Stored<PendingInvoiceItem>>> PendingItemsAsync(string customerId, CancellationToken cancellationToken = default)
    {
        var filter = $"PartitionKey eq {Keys.Quote(customerId)} and RowKey ge 'ii|' and RowKey lt {Keys.Quote(Keys.PrefixEnd("ii|"))}";
        var items = new List<Stored<PendingInvoiceItem>>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            items.Add(new Stored<PendingInvoiceItem>(JsonTable.FromEntity<PendingInvoiceItem>(entity), entity.ETag));
        }

        return OrderPending(items);
    }

    // Creation order; items made by one change share an instant, so a credit (negative) comes before its charge.
    private static List<Stored<PendingInvoiceItem>> OrderPending(List<Stored<PendingInvoiceItem>> items) =>
        [.. items.OrderBy(i => i.Value.Created).ThenBy(i => i.Value.SubscriptionItemId, StringComparer.Ordinal).ThenBy(i => i.Value.Amount).ThenBy(i => i.Value.Id, StringComparer.Ordinal)];

    public async Task<IReadOnlyList<Stored<PaymentAttempt>>> AttemptsAsync(string customerId, string invoiceId, CancellationToken cancellationToken = default)
    {
        var prefix = $"pay|{invoiceId}|";
        var filter = $"PartitionKey eq {Keys.Quote(customerId)} and RowKey ge {Keys.Quote(prefix)} and RowKey lt {Keys.Quote(Keys.PrefixEnd(prefix))}";
        var items = new List<Stored<PaymentAttempt>>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            items.Add(new Stored<PaymentAttempt>(JsonTable.FromEntity<PaymentAttempt>(entity), entity.ETag));
        }

        return [.. items.OrderBy(a => a.Value.Number)];
    }

    // ---------------------------------------------------------------- credit notes

    public async Task<Stored<CreditNote>?> FindCreditNoteAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, CreditNote.IdPrefix) && await CustomerOfAsync(CreditNoteIndex, id, cancellationToken) is { } customer
            ? await GetAsync<CreditNote>(customer, CreditNoteRow(id), cancellationToken)
            : null;

    public Task<ListPage<CreditNote>> ListCreditNotesAsync(string? customerId, string? invoiceId, int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        customerId is not null
            ? table.ListAsync<CreditNote>(customerId, "cn|", startingAfter is null ? null : CreditNoteRow(startingAfter), limit,
                invoiceId is null ? null : $"InvoiceId eq {Keys.Quote(invoiceId)}", cancellationToken)
            : ListThroughIndexAsync(CreditNoteIndex, CreditNote.IdPrefix, limit, startingAfter,
                (entry, ct) => GetAsync<CreditNote>(entry.CustomerId, CreditNoteRow(entry.Id), ct), c => invoiceId is null || c.InvoiceId == invoiceId, cancellationToken);

    private Task<ListPage<T>> ListThroughIndexAsync<T>(string index, string prefix, int limit, string? startingAfter,
        Func<IndexEntry, CancellationToken, Task<Stored<T>?>> load, Func<T, bool> keep, CancellationToken cancellationToken)
        where T : class =>
        MinutePartitions.ListThroughIndexAsync<IndexEntry, T>(table, index, prefix, limit, startingAfter, null, e => e.Id,
            async (entry, ct) => (await load(entry, ct))?.Value, keep, cancellationToken);
}
