using Billing.Domain;
using Billing.Domain.Catalog;

namespace Billing.Functions.Storage;

/// <summary>
/// Products and prices in the <c>Billing</c> table, partition <c>catalog</c>, row keys <c>product|…</c> and
/// <c>price|…</c> in descending-id form so a range query lists newest first. <c>Active</c> and <c>ProductId</c> are
/// plain columns for filtering.
/// </summary>
public sealed class TableCatalogStore(StorageClients clients) : ICatalogStore
{
    private const string Partition = "catalog";
    private const string ProductRows = "product|";
    private const string PriceRows = "price|";
    private readonly JsonTable table = new(clients.Table(TableNames.Billing));

    public async Task<Product?> GetProductAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Product.IdPrefix) && await table.GetAsync<Product>(Partition, ProductRows + Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public Task CreateProductAsync(Product product, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(product);
        return table.InsertAsync(Partition, ProductRows + Keys.Descending(product.Id), product, ProductColumns(product), cancellationToken);
    }

    public Task<Product> UpdateProductAsync(string id, Func<Product, Product> change, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Product.IdPrefix)
            ? table.UpdateAsync(Partition, ProductRows + Keys.Descending(id), "product", change, ProductColumns, cancellationToken)
            : throw new NotFoundException("product", id);

    public Task<ListPage<Product>> ListProductsAsync(int limit, string? startingAfter, bool? active, CancellationToken cancellationToken = default) =>
        table.ListAsync<Product>(Partition, ProductRows, startingAfter is null ? null : ProductRows + Keys.Descending(startingAfter), limit,
            active is null ? null : $"Active eq {(active.Value ? "true" : "false")}", cancellationToken);

    public async Task<Price?> GetPriceAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Price.IdPrefix) && await table.GetAsync<Price>(Partition, PriceRows + Keys.Descending(id), cancellationToken) is { } row ? row.Value : null;

    public Task CreatePriceAsync(Price price, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(price);
        return table.InsertAsync(Partition, PriceRows + Keys.Descending(price.Id), price, PriceColumns(price), cancellationToken);
    }

    public Task<Price> UpdatePriceAsync(string id, Func<Price, Price> change, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, Price.IdPrefix)
            ? table.UpdateAsync(Partition, PriceRows + Keys.Descending(id), "price", change, PriceColumns, cancellationToken)
            : throw new NotFoundException("price", id);

    public Task<ListPage<Price>> ListPricesAsync(int limit, string? startingAfter, string? productId, bool? active, CancellationToken cancellationToken = default)
    {
        var filters = new List<string>();
        if (productId is not null)
        {
            filters.Add($"ProductId eq {Keys.Quote(productId)}");
        }

        if (active is not null)
        {
            filters.Add($"Active eq {(active.Value ? "true" : "false")}");
        }

        return table.ListAsync<Price>(Partition, PriceRows, startingAfter is null ? null : PriceRows + Keys.Descending(startingAfter), limit,
            filters.Count == 0 ? null : string.Join(" and ", filters), cancellationToken);
    }

    private static Dictionary<string, object?> ProductColumns(Product product) => new() { ["Active"] = product.Active };

    private static Dictionary<string, object?> PriceColumns(Price price) => new() { ["Active"] = price.Active, ["ProductId"] = price.ProductId };
}
