using Azure;
using Azure.Data.Tables;
using Billing.Domain;
using Billing.Domain.Payments;

namespace Billing.Functions.Storage;

/// <summary>
/// Payments and refunds in the <c>Billing</c> table, in their customer's partition so a refund, its reservation on the
/// payment and its idempotency key commit in one entity-group transaction:
/// <list type="bullet">
/// <item><c>(customer, pay_{descending id})</c> the payment (column <c>Status</c>), newest first by row key;</item>
/// <item><c>(customer, paykey:{request key})</c> which payment a client idempotency key created;</item>
/// <item><c>(customer, refund:{payment id}:rfd_{descending id})</c> the payment's refunds, newest first;</item>
/// <item><c>(customer, rfdkey:{request key})</c> which refund a client idempotency key created;</item>
/// <item><c>(payments, pay_{descending id})</c> the global index (payment id → customer), for lookups by id and lists.</item>
/// </list>
/// The index row is written first: a crash before the payment row leaves an index row without a payment, which
/// lookups and lists skip.
/// </summary>
public sealed class TablePaymentStore(StorageClients clients) : IPaymentStore
{
    private const string IndexPrefix = "payments|"; // id → customer, newest first, see MinutePartitions
    private const string PaymentKeyRows = "paykey:";
    private const string RefundKeyRows = "rfdkey:";
    private const int MaxReserveAttempts = 25;
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public async Task<(Payment Payment, bool Created)> CreateAsync(Payment payment, string requestKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payment);
        if (await ExistingPaymentAsync(payment.CustomerId, requestKey, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        await table.InsertAsync(MinutePartitions.Of(IndexPrefix, payment.Id), Keys.Descending(payment.Id), new PaymentIndexEntry(payment.Id, payment.CustomerId), cancellationToken: cancellationToken);
        try
        {
            await table.Client.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, JsonTable.ToEntity(payment.CustomerId, PaymentKeyRows + requestKey, new RequestKeyEntry(payment.Id, null))),
                new TableTransactionAction(TableTransactionActionType.Add, JsonTable.ToEntity(payment.CustomerId, PaymentRow(payment.Id), payment, Columns(payment))),
            ], cancellationToken);
            return (payment, true);
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            return (await ExistingPaymentAsync(payment.CustomerId, requestKey, cancellationToken) ?? throw new ConcurrencyConflictException("The payment request is being created concurrently; retry."), false);
        }
    }

    public async Task<Payment?> GetAsync(string paymentId, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(paymentId, Payment.IdPrefix) || await table.GetAsync<PaymentIndexEntry>(MinutePartitions.Of(IndexPrefix, paymentId), Keys.Descending(paymentId), cancellationToken) is not { } index)
        {
            return null;
        }

        return await GetAsync(index.Value.CustomerId, paymentId, cancellationToken);
    }

    public Task<Payment?> FindByRequestKeyAsync(string customerId, string requestKey, CancellationToken cancellationToken = default) =>
        ExistingPaymentAsync(customerId, requestKey, cancellationToken);

    /// <summary>The payment row of <paramref name="customerId"/> with its ETag, for a transaction that changes it together with other rows of that partition.</summary>
    public async Task<(Payment Payment, ETag ETag)?> GetStoredAsync(string customerId, string paymentId, CancellationToken cancellationToken = default) =>
        Ids.IsValid(paymentId, Payment.IdPrefix) && await table.GetAsync<Payment>(customerId, PaymentRow(paymentId), cancellationToken) is { } row ? (row.Value, row.ETag) : null;

    /// <summary>Writes the global index row of a payment about to be inserted by <see cref="AddPayment"/> (first, as <see cref="CreateAsync"/> does).</summary>
    public Task AddIndexAsync(Payment payment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payment);
        return table.Client.UpsertEntityAsync(JsonTable.ToEntity(MinutePartitions.Of(IndexPrefix, payment.Id), Keys.Descending(payment.Id), new PaymentIndexEntry(payment.Id, payment.CustomerId)), TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Adds the payment to a transaction of its customer's partition: replaced If-Match <paramref name="etag"/>, or — with
    /// no ETag — inserted together with the row of the request key that created it (a concurrent creator makes the
    /// transaction fail, and the caller reloads).
    /// </summary>
    public static void AddPayment(PartitionBatch batch, Payment payment, ETag? etag, string requestKey)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(payment);
        if (etag is { } e)
        {
            batch.Replace(PaymentRow(payment.Id), payment, e, Columns(payment));
            return;
        }

        batch.Insert(PaymentKeyRows + requestKey, new RequestKeyEntry(payment.Id, null));
        batch.Insert(PaymentRow(payment.Id), payment, Columns(payment));
    }

    /// <summary>Adds a new refund and the row of its request key to a transaction of its customer's partition (the reservation goes with <see cref="AddPayment"/>).</summary>
    public static void AddRefund(PartitionBatch batch, Refund refund, string requestKey)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(refund);
        batch.Insert(RefundKeyRows + requestKey, new RequestKeyEntry(refund.Id, refund.PaymentId));
        batch.Insert(RefundRow(refund.PaymentId, refund.Id), refund);
    }

    public Task<Payment> UpdateAsync(Payment payment, Func<Payment, Payment> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payment);
        return table.UpdateAsync(payment.CustomerId, PaymentRow(payment.Id), "payment", change, Columns, cancellationToken);
    }

    public async Task<ListPage<Payment>> ListAsync(PaymentQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = query.StartingAfter is null ? null : Keys.Descending(query.StartingAfter);
        var range = CreatedFilter(query.CreatedFrom, query.CreatedBefore);
        if (query.CustomerId is { } customerId)
        {
            var filter = query.Status is { } status ? And(range, $"Status eq {Keys.Quote(StatusName(status))}") : range;
            return await table.ListAsync<Payment>(customerId, Payment.IdPrefix + "_", after, query.Limit, filter, cancellationToken);
        }

        return await MinutePartitions.ListThroughIndexAsync<PaymentIndexEntry, Payment>(table, IndexPrefix, Payment.IdPrefix, query.Limit, query.StartingAfter, range,
            e => e.Id, (entry, ct) => GetAsync(entry.CustomerId, entry.Id, ct), p => query.Status is null || p.Status == query.Status, cancellationToken);
    }

    public async Task<(Refund Refund, bool Created)> CreateRefundAsync(Refund refund, string requestKey, Func<Payment, Payment> reserve, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refund);
        ArgumentNullException.ThrowIfNull(reserve);
        for (var attempt = 0; attempt < MaxReserveAttempts; attempt++)
        {
            if (await table.GetAsync<RequestKeyEntry>(refund.CustomerId, RefundKeyRows + requestKey, cancellationToken) is { } key)
            {
                return (await GetRefundAsync(refund.CustomerId, key.Value.PaymentId!, key.Value.Id, cancellationToken)
                    ?? throw new InvalidOperationException($"Refund key row points at a missing refund {key.Value.Id}."), false);
            }

            var loaded = await table.GetAsync<Payment>(refund.CustomerId, PaymentRow(refund.PaymentId), cancellationToken) ?? throw new NotFoundException("payment", refund.PaymentId);
            var reserved = reserve(loaded.Value);
            try
            {
                await table.Client.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Add, JsonTable.ToEntity(refund.CustomerId, RefundKeyRows + requestKey, new RequestKeyEntry(refund.Id, refund.PaymentId))),
                    new TableTransactionAction(TableTransactionActionType.Add, JsonTable.ToEntity(refund.CustomerId, RefundRow(refund.PaymentId, refund.Id), refund)),
                    new TableTransactionAction(TableTransactionActionType.UpdateReplace, JsonTable.ToEntity(refund.CustomerId, PaymentRow(refund.PaymentId), reserved, Columns(reserved)), loaded.ETag),
                ], cancellationToken);
                return (refund, true);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
            {
                // Another writer changed the payment (412) or used the same key (409): reload and decide again.
                await Task.Delay(Random.Shared.Next(1, 5 << Math.Min(attempt, 5)), cancellationToken);
            }
        }

        throw new ConcurrencyConflictException("The payment was changed concurrently too many times; retry the refund.");
    }

    public async Task<Refund?> GetRefundAsync(string customerId, string paymentId, string refundId, CancellationToken cancellationToken = default) =>
        Ids.IsValid(refundId, Refund.IdPrefix) && await table.GetAsync<Refund>(customerId, RefundRow(paymentId, refundId), cancellationToken) is { } row ? row.Value : null;

    public Task<Refund> UpdateRefundAsync(Refund refund, Func<Refund, Refund> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refund);
        return table.UpdateAsync(refund.CustomerId, RefundRow(refund.PaymentId, refund.Id), "refund", change, cancellationToken: cancellationToken);
    }

    public Task<ListPage<Refund>> ListRefundsAsync(string customerId, string paymentId, int limit, string? startingAfter, CancellationToken cancellationToken = default)
    {
        var prefix = $"refund:{paymentId}:";
        return table.ListAsync<Refund>(customerId, prefix + Refund.IdPrefix + "_", startingAfter is null ? null : RefundRow(paymentId, startingAfter), limit, cancellationToken: cancellationToken);
    }

    private async Task<Payment?> GetAsync(string customerId, string paymentId, CancellationToken cancellationToken) =>
        await table.GetAsync<Payment>(customerId, PaymentRow(paymentId), cancellationToken) is { } row ? row.Value : null;

    private async Task<Payment?> ExistingPaymentAsync(string customerId, string requestKey, CancellationToken cancellationToken) =>
        await table.GetAsync<RequestKeyEntry>(customerId, PaymentKeyRows + requestKey, cancellationToken) is { } key
            ? await GetAsync(customerId, key.Value.Id, cancellationToken)
            : null;

    private static string PaymentRow(string paymentId) => Keys.Descending(paymentId);

    private static string RefundRow(string paymentId, string refundId) => $"refund:{paymentId}:{Keys.Descending(refundId)}";

    private static Dictionary<string, object?> Columns(Payment payment) => new() { ["Status"] = StatusName(payment.Status) };

    private static string StatusName(PaymentStatus status) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());

    /// <summary>
    /// Row-key bounds for a creation-time window. Ids sort by creation time and row keys are their descending form, so
    /// "created ≥ t" is "row key ≤ descending(first id at t)" and "created &lt; t" is "row key &gt; descending(first id at t)".
    /// </summary>
    private static string? CreatedFilter(DateTimeOffset? from, DateTimeOffset? before)
    {
        string? filter = null;
        if (from is { } f)
        {
            filter = $"RowKey le {Keys.Quote(Keys.Descending(FirstIdAt(f)))}";
        }

        if (before is { } b)
        {
            filter = And(filter, $"RowKey gt {Keys.Quote(Keys.Descending(FirstIdAt(b)))}");
        }

        return filter;
    }

    private static string FirstIdAt(DateTimeOffset time)
    {
        var id = Ids.New(Payment.IdPrefix, time);
        return id[..(Payment.IdPrefix.Length + 11)] + new string('0', Ids.BodyLength - 10);
    }

    private static string? And(string? left, string? right) => left is null ? right : right is null ? left : $"{left} and {right}";

    private sealed record PaymentIndexEntry(string Id, string CustomerId);

    private sealed record RequestKeyEntry(string Id, string? PaymentId);
}
