using Azure;
using Azure.Data.Tables;
using Billing.Domain;
using Billing.Domain.Disputes;
using Billing.Functions.Storage;

namespace Billing.Functions.Disputes;

/// <summary>
/// Disputes in the <c>Billing</c> table:
/// <list type="bullet">
/// <item><c>(customer, dispute|dsp_{descending id})</c> a linked dispute, in its customer's partition, newest first;</item>
/// <item><c>(disputes-unlinked, dispute|dsp_{descending id})</c> a dispute on a payment we do not know;</item>
/// <item><c>(disputes, dsp_{descending id})</c> the index by our id (→ partition), newest first, for lookups and lists;</item>
/// <item><c>(disputes-stripe, du_…)</c> the index by Stripe dispute id, inserted first and only if absent, so concurrent
/// and repeated webhooks create one dispute.</item>
/// </list>
/// A crash between the rows leaves the Stripe index row pointing at an id whose rows are missing; the next webhook
/// finishes creating it under that same id.
/// </summary>
public sealed class TableDisputeStore(StorageClients clients) : IDisputeStore
{
    public const string UnlinkedPartition = "disputes-unlinked";
    private const string IndexPartition = "disputes";
    private const string StripeIndexPartition = "disputes-stripe";
    private const string RowPrefix = "dispute|";
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public static string Partition(Dispute dispute)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        return dispute.CustomerId ?? UnlinkedPartition;
    }

    public async Task<(Dispute Dispute, bool Created)> CreateAsync(Dispute dispute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        try
        {
            await table.InsertAsync(StripeIndexPartition, dispute.StripeDisputeId, new IndexEntry(dispute.Id, Partition(dispute)), cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var claimed = await table.GetAsync<IndexEntry>(StripeIndexPartition, dispute.StripeDisputeId, cancellationToken)
                ?? throw new ConcurrencyConflictException("The dispute is being created concurrently; retry.");
            if (await GetAsync(claimed.Value.Partition, claimed.Value.Id, cancellationToken) is { } existing)
            {
                return (existing, false);
            }

            // The first writer stopped after claiming the Stripe id: finish its dispute under the claimed id and partition.
            dispute = dispute with
            {
                Id = claimed.Value.Id,
                CustomerId = claimed.Value.Partition == UnlinkedPartition ? null : claimed.Value.Partition,
                Created = Ids.CreatedAt(claimed.Value.Id),
            };
        }

        await table.Client.UpsertEntityAsync(
            JsonTable.ToEntity(IndexPartition, Keys.Descending(dispute.Id), new IndexEntry(dispute.Id, Partition(dispute))), TableUpdateMode.Replace, cancellationToken);
        try
        {
            await table.InsertAsync(Partition(dispute), Row(dispute.Id), dispute, Columns(dispute), cancellationToken);
            return (dispute, true);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return (await GetAsync(Partition(dispute), dispute.Id, cancellationToken) ?? dispute, false);
        }
    }

    public async Task<Dispute?> GetAsync(string disputeId, CancellationToken cancellationToken = default) =>
        Ids.IsValid(disputeId, Dispute.IdPrefix) && await table.GetAsync<IndexEntry>(IndexPartition, Keys.Descending(disputeId), cancellationToken) is { } index
            ? await GetAsync(index.Value.Partition, disputeId, cancellationToken)
            : null;

    public async Task<Dispute?> GetByStripeIdAsync(string stripeDisputeId, CancellationToken cancellationToken = default) =>
        Payments.StripeEventStore.IsKey(stripeDisputeId) && await table.GetAsync<IndexEntry>(StripeIndexPartition, stripeDisputeId, cancellationToken) is { } index
            ? await GetAsync(index.Value.Partition, index.Value.Id, cancellationToken)
            : null;

    public Task<Dispute> UpdateAsync(Dispute dispute, Func<Dispute, Dispute> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        return table.UpdateAsync(Partition(dispute), Row(dispute.Id), "dispute", change, Columns, cancellationToken);
    }

    /// <summary>
    /// Newest first. With a customer, one range query over its partition; otherwise the global index, each entry loaded.
    /// Status and deadline filters apply to the loaded disputes (disputes are few, and the index never holds stale state).
    /// </summary>
    public async Task<ListPage<Dispute>> ListAsync(DisputeQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var found = new List<Dispute>(query.Limit);
        var after = query.StartingAfter;
        var more = true;
        while (found.Count < query.Limit && more)
        {
            IReadOnlyList<Dispute> batch;
            if (query.CustomerId is { } customer)
            {
                var page = await table.ListAsync<Dispute>(customer, RowPrefix + Dispute.IdPrefix + "_", after is null ? null : Row(after), 100, cancellationToken: cancellationToken);
                (batch, more) = (page.Data, page.HasMore);
            }
            else
            {
                var page = await table.ListAsync<IndexEntry>(IndexPartition, Dispute.IdPrefix + "_", after is null ? null : Keys.Descending(after), 100, cancellationToken: cancellationToken);
                var loaded = await Task.WhenAll(page.Data.Select(e => GetAsync(e.Partition, e.Id, cancellationToken)));
                (batch, more) = (loaded.OfType<Dispute>().ToList(), page.HasMore);
                after = page.Data.Count > 0 ? page.Data[^1].Id : after;
            }

            foreach (var dispute in batch)
            {
                after = dispute.Id;
                if (Matches(dispute, query))
                {
                    found.Add(dispute);
                    if (found.Count == query.Limit)
                    {
                        return new ListPage<Dispute>(found, more || !ReferenceEquals(dispute, batch[^1]));
                    }
                }
            }
        }

        return new ListPage<Dispute>(found, false);
    }

    private static bool Matches(Dispute dispute, DisputeQuery query) =>
        (query.Status is null || dispute.Status == query.Status)
        && (query.DueBefore is not { } before || (dispute.EvidenceDueBy is { } due && due < before));

    private async Task<Dispute?> GetAsync(string partition, string id, CancellationToken cancellationToken) =>
        await table.GetAsync<Dispute>(partition, Row(id), cancellationToken) is { } row ? row.Value : null;

    private static string Row(string disputeId) => RowPrefix + Keys.Descending(disputeId);

    private static Dictionary<string, object?> Columns(Dispute dispute) => new()
    {
        ["Status"] = dispute.Status,
        ["StripeDisputeId"] = dispute.StripeDisputeId,
    };

    private sealed record IndexEntry(string Id, string Partition);
}
