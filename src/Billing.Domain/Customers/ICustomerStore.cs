namespace Billing.Domain.Customers;

/// <summary>Where customers are kept. Updates are optimistic: the change function may run more than once.</summary>
public interface ICustomerStore
{
    Task<Customer?> GetAsync(string id, CancellationToken cancellationToken = default);

    Task CreateAsync(Customer customer, CancellationToken cancellationToken = default);

    /// <summary>Loads, applies <paramref name="change"/> and saves with the loaded ETag, re-applying on conflicts a bounded number of times.</summary>
    Task<Customer> UpdateAsync(string id, Func<Customer, Customer> change, CancellationToken cancellationToken = default);

    /// <summary>Newest first; <paramref name="startingAfter"/> is the id of the last customer of the previous page.</summary>
    Task<ListPage<Customer>> ListAsync(int limit, string? startingAfter, CancellationToken cancellationToken = default);
}
