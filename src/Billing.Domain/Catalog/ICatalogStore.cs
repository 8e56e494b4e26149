namespace Billing.Domain.Catalog;

/// <summary>Where products and prices are kept.</summary>
public interface ICatalogStore
{
    Task<Product?> GetProductAsync(string id, CancellationToken cancellationToken = default);

    Task CreateProductAsync(Product product, CancellationToken cancellationToken = default);

    Task<Product> UpdateProductAsync(string id, Func<Product, Product> change, CancellationToken cancellationToken = default);

    Task<ListPage<Product>> ListProductsAsync(int limit, string? startingAfter, bool? active, CancellationToken cancellationToken = default);

    Task<Price?> GetPriceAsync(string id, CancellationToken cancellationToken = default);

    Task CreatePriceAsync(Price price, CancellationToken cancellationToken = default);

    Task<Price> UpdatePriceAsync(string id, Func<Price, Price> change, CancellationToken cancellationToken = default);

    Task<ListPage<Price>> ListPricesAsync(int limit, string? startingAfter, string? productId, bool? active, CancellationToken cancellationToken = default);
}
