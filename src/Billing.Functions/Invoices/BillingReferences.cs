using System.Text.RegularExpressions;
using Billing.Domain;
using Billing.Domain.Catalog;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;
using Billing.Functions.Storage;

namespace Billing.Functions.Invoices;

/// <summary>
/// Resolves ids sent by clients (prices, tax rates, coupons) into the snapshots billing uses, reporting unknown or
/// unusable ones as field errors; stores coupons (partition <c>coupons</c>, row <c>coupon|{id}</c>) and tax rates
/// (partition <c>tax_rates</c>, row <c>txr|{desc id}</c>). Redemptions are counted by <see cref="CouponRedemptions"/>.
/// </summary>
public sealed partial class BillingReferences(ICatalogStore catalog, TableInvoicingStore store)
{
    public async Task<PriceSnapshot?> PriceAsync(string? priceId, string field, ValidationErrors errors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(priceId))
        {
            errors.Add(field, "Is required.");
            return null;
        }

        var price = await catalog.GetPriceAsync(priceId, cancellationToken);
        if (price is null)
        {
            errors.Add(field, $"No such price: '{priceId}'.");
            return null;
        }

        if (!price.Active || price.Recurring is null)
        {
            errors.Add(field, price.Active ? $"Price '{priceId}' is one-time; subscriptions need recurring prices." : $"Price '{priceId}' is archived.");
            return null;
        }

        var product = await catalog.GetProductAsync(price.ProductId, cancellationToken);
        if (product is null)
        {
            errors.Add(field, $"The product of price '{priceId}' does not exist.");
            return null;
        }

        return PriceSnapshot.From(price, product);
    }

    public async Task<IReadOnlyList<TaxRate>?> TaxRatesAsync(IReadOnlyList<string>? ids, string field, ValidationErrors errors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (ids is null)
        {
            return null;
        }

        errors.AddIf(ids.Count > 5, field, "At most 5 tax rates are allowed.");
        var rates = new List<TaxRate>();
        for (var i = 0; i < ids.Count; i++)
        {
            var rate = await TaxRateAsync(ids[i], cancellationToken);
            if (rate is null || !rate.Active)
            {
                errors.Add($"{field}[{i}]", rate is null ? $"No such tax rate: '{ids[i]}'." : $"Tax rate '{ids[i]}' is archived.");
                continue;
            }

            rates.Add(rate);
        }

        return rates;
    }

    public async Task<TaxRate?> TaxRateAsync(string id, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id, TaxRate.IdPrefix) && await store.GetAsync<TaxRate>(TableInvoicingStore.TaxRatePartition, TableInvoicingStore.TaxRateRow(id), cancellationToken) is { } row
            ? row.Value
            : null;

    public Task CreateTaxRateAsync(TaxRate rate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rate);
        return store.Table.InsertAsync(TableInvoicingStore.TaxRatePartition, TableInvoicingStore.TaxRateRow(rate.Id), rate, cancellationToken: cancellationToken);
    }

    public Task<ListPage<TaxRate>> ListTaxRatesAsync(int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        store.Table.ListAsync<TaxRate>(TableInvoicingStore.TaxRatePartition, "txr|", startingAfter is null ? null : TableInvoicingStore.TaxRateRow(startingAfter), limit, cancellationToken: cancellationToken);

    public static bool IsCouponId(string? id) => id is not null && CouponIdPattern().IsMatch(id);

    public async Task<Coupon?> CouponAsync(string id, CancellationToken cancellationToken = default) =>
        IsCouponId(id) && await store.GetAsync<Coupon>(TableInvoicingStore.CouponPartition, TableInvoicingStore.CouponRow(id), cancellationToken) is { } row ? row.Value : null;

    public async Task CreateCouponAsync(Coupon coupon, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(coupon);
        try
        {
            await store.Table.InsertAsync(TableInvoicingStore.CouponPartition, TableInvoicingStore.CouponRow(coupon.Id), coupon, cancellationToken: cancellationToken);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 409)
        {
            throw new InvalidStateException($"A coupon with id '{coupon.Id}' already exists.", "resource_already_exists");
        }
    }

    /// <summary>Coupons in id order (ids may be chosen by the merchant, so they do not sort by time).</summary>
    public Task<ListPage<Coupon>> ListCouponsAsync(int limit, string? startingAfter, CancellationToken cancellationToken = default) =>
        store.Table.ListAsync<Coupon>(TableInvoicingStore.CouponPartition, "coupon|", startingAfter is null ? null : TableInvoicingStore.CouponRow(startingAfter), limit, cancellationToken: cancellationToken);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex CouponIdPattern();
}
