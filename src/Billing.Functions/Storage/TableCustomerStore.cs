using Billing.Domain;
using Billing.Domain.Customers;

namespace Billing.Functions.Storage;

/// <summary>
/// Customers in the <c>Billing</c> table: the customer row is <c>(customer id, "customer")</c>, so everything the
/// customer owns can share its partition and its entity-group transactions. Newest-first listing uses index rows in
/// partition <c>customers</c> keyed by the descending form of the id. The index row is written first: a crash in
/// between leaves an index row without a customer, which listing skips.
/// </summary>
public sealed class TableCustomerStore(StorageClients clients) : ICustomerStore
{
    /// <summary>Row key of the customer record in its own partition.</summary>
    public const string Row = "customer";
    private const string IndexPrefix = "customers|"; // id → (nothing): lists every customer newest first, see MinutePartitions
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public async Task<Customer?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Customer.IdPrefix) && await table.GetAsync<Customer>(id, Row, cancellationToken) is { } row ? row.Value : null;

    public async Task CreateAsync(Customer customer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customer);
        await table.InsertAsync(MinutePartitions.Of(IndexPrefix, customer.Id), Keys.Descending(customer.Id), new CustomerIndexEntry(customer.Id), cancellationToken: cancellationToken);
        await table.InsertAsync(customer.Id, Row, customer, cancellationToken: cancellationToken);

        // No pending items yet, so renewals need not list them (see TableInvoicingStore.PendingItemsIfAnyAsync). After the
        // customer row, and only if absent: an insert never hides an item added meanwhile, and a crash here leaves no
        // marker, which means "list them".
        await TableInvoicingStore.ClearPendingMarkerAsync(table, customer.Id, null, cancellationToken);
    }

    public Task<Customer> UpdateAsync(string id, Func<Customer, Customer> change, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Customer.IdPrefix)
            ? table.UpdateAsync(id, Row, "customer", change, cancellationToken: cancellationToken)
            : throw new NotFoundException("customer", id);

    public Task<ListPage<Customer>> ListAsync(int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        MinutePartitions.ListThroughIndexAsync<CustomerIndexEntry, Customer>(table, IndexPrefix, Customer.IdPrefix, limit, startingAfter, null,
            e => e.Id, (entry, ct) => GetAsync(entry.Id, ct), _ => true, cancellationToken);

    private sealed record CustomerIndexEntry(string Id);
}
