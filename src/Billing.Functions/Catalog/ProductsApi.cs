using Billing.Domain;
using Billing.Domain.Catalog;
using Billing.Functions.Auth;
using Billing.Functions.Http;

namespace Billing.Functions.Catalog;

/// <summary><c>/api/products</c>: create, read, list and archive products. Customer tokens may read the catalog.</summary>
public static class ProductsApi
{
    public static IEndpointRouteBuilder MapProductsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/products").WithTags("Catalog");

        group.MapPost("/", async (ProductRequest body, ICatalogStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var now = clock.GetUtcNow();
            var product = Product.Create(Ids.New(Product.IdPrefix, now), body.Name, body.Description, body.Metadata, now);
            await store.CreateProductAsync(product, cancellationToken);
            return TypedResults.Created($"/api/products/{product.Id}", ProductResponse.From(product));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Create a product");

        group.MapGet("/", async (HttpRequest request, ICatalogStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Product.IdPrefix, errors);
            var active = Paging.Flag(request, "active", errors);
            errors.ThrowIfAny();
            var page = await store.ListProductsAsync(paging.Limit, paging.StartingAfter, active, cancellationToken);
            return TypedResults.Ok(new ListResponse<ProductResponse>([.. page.Data.Select(ProductResponse.From)], page.HasMore, "/api/products"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List products, newest first");

        group.MapGet("/{id}", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(ProductResponse.From(await store.GetProductAsync(id, cancellationToken) ?? throw new NotFoundException("product", id))))
            .RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve a product");

        group.MapPost("/{id}/archive", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(ProductResponse.From(await store.UpdateProductAsync(id, p => p.Active ? p.Archive() : p, cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Archive a product (no new prices or subscriptions)");

        group.MapPost("/{id}/unarchive", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(ProductResponse.From(await store.UpdateProductAsync(id, p => p.Active ? p : p.Unarchive(), cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Make an archived product active again");

        return routes;
    }
}

/// <summary>Body of <c>POST /api/products</c>.</summary>
public sealed record ProductRequest(string? Name, string? Description, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>A product on the wire.</summary>
public sealed record ProductResponse(string Id, string Name, string? Description, bool Active, IReadOnlyDictionary<string, string> Metadata, DateTimeOffset Created)
{
    public string Object => "product";

    public static ProductResponse From(Product p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new(p.Id, p.Name, p.Description, p.Active, p.Metadata, p.Created);
    }
}
