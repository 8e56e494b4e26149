using System.Text.Json;
using Billing.Domain;
using Billing.Domain.Catalog;
using Billing.Functions.Auth;
using Billing.Functions.Http;

namespace Billing.Functions.Catalog;

/// <summary>
/// <c>/api/prices</c>: create, read, list and archive prices. Amounts never change after creation: to change a price,
/// create a new one and archive the old (subscriptions on the old price keep it).
/// </summary>
public static class PricesApi
{
    public static IEndpointRouteBuilder MapPricesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/prices").WithTags("Catalog");

        group.MapPost("/", async (PriceRequest body, ICatalogStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var input = body.ToInput(errors);
            Product? product = null;
            if (string.IsNullOrEmpty(body.Product))
            {
                errors.Add("product", "Is required.");
            }
            else if ((product = await store.GetProductAsync(body.Product, cancellationToken)) is null)
            {
                errors.Add("product", $"No such product: '{body.Product}'.");
            }

            errors.ThrowIfAny();
            var now = clock.GetUtcNow();
            var price = Price.Create(input, Ids.New(Price.IdPrefix, now), product!, now);
            await store.CreatePriceAsync(price, cancellationToken);
            return TypedResults.Created($"/api/prices/{price.Id}", PriceResponse.From(price));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Create a price");

        group.MapGet("/", async (HttpRequest request, ICatalogStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Price.IdPrefix, errors);
            var active = Paging.Flag(request, "active", errors);
            string? product = request.Query["product"];
            errors.AddIf(product is not null && !Ids.IsValid(product, Product.IdPrefix), "product", "Must be a product id.");
            errors.ThrowIfAny();
            var page = await store.ListPricesAsync(paging.Limit, paging.StartingAfter, product, active, cancellationToken);
            return TypedResults.Ok(new ListResponse<PriceResponse>([.. page.Data.Select(PriceResponse.From)], page.HasMore, "/api/prices"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List prices, newest first (filter by product, active)");

        group.MapGet("/{id}", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(PriceResponse.From(await store.GetPriceAsync(id, cancellationToken) ?? throw new NotFoundException("price", id))))
            .RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve a price");

        group.MapPost("/{id}/archive", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(PriceResponse.From(await store.UpdatePriceAsync(id, p => p.Active ? p.Archive() : p, cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Archive a price (existing subscriptions keep it; no new ones)");

        group.MapPost("/{id}/unarchive", async (string id, ICatalogStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(PriceResponse.From(await store.UpdatePriceAsync(id, p => p.Active ? p : p.Unarchive(), cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Make an archived price active again");

        return routes;
    }
}

/// <summary>Body of <c>POST /api/prices</c>, in Stripe's shape (<c>tiers[].up_to</c> is a number or <c>"inf"</c>).</summary>
public sealed record PriceRequest
{
    public string? Product { get; init; }

    public string? Currency { get; init; }

    public BillingScheme? BillingScheme { get; init; }

    public TiersMode? TiersMode { get; init; }

    public long? UnitAmount { get; init; }

    public IReadOnlyList<TierRequest>? Tiers { get; init; }

    public RecurringRequest? Recurring { get; init; }

    public int? TrialPeriodDays { get; init; }

    public string? Nickname { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    internal PriceInput ToInput(ValidationErrors errors)
    {
        var tiers = Tiers?.Select((tier, i) => tier?.ToTier(errors, $"tiers[{i}]") ?? MissingTier(errors, $"tiers[{i}]")).ToList();
        Recurrence? recurrence = null;
        if (Recurring is not null)
        {
            errors.AddIf(Recurring.Interval is null, "recurring.interval", "Is required: day, week, month or year.");
            recurrence = Recurring.Interval is { } unit ? new Recurrence(unit, Recurring.IntervalCount ?? 1) : null;
        }

        return new PriceInput
        {
            Currency = Currency,
            Scheme = BillingScheme,
            TiersMode = TiersMode,
            UnitAmount = UnitAmount,
            Tiers = tiers,
            Recurring = recurrence,
            TrialPeriodDays = TrialPeriodDays,
            Nickname = Nickname,
            Metadata = Metadata,
        };
    }

    private static PriceTier MissingTier(ValidationErrors errors, string field)
    {
        errors.Add(field, "Must be a tier object.");
        return new PriceTier(null, 0, 0);
    }
}

/// <summary>A tier on the wire.</summary>
public sealed record TierRequest(JsonElement? UpTo, long? UnitAmount, long? FlatAmount)
{
    internal PriceTier ToTier(ValidationErrors errors, string field)
    {
        long? upTo = null;
        switch (UpTo?.ValueKind)
        {
            case JsonValueKind.Number when UpTo.Value.TryGetInt64(out var bound) && bound > 0:
                upTo = bound;
                break;
            case JsonValueKind.String when UpTo.Value.GetString() == "inf":
            case null or JsonValueKind.Null:
                break;
            default:
                errors.Add(field + ".up_to", "Must be a positive whole number or \"inf\".");
                break;
        }

        errors.AddIf(UnitAmount is null && FlatAmount is null, field, "A tier needs unit_amount, flat_amount or both.");
        return new PriceTier(upTo, UnitAmount ?? 0, FlatAmount ?? 0);
    }
}

/// <summary>The recurring part of a price on the wire.</summary>
public sealed record RecurringRequest(IntervalUnit? Interval, int? IntervalCount);

/// <summary>A price on the wire.</summary>
public sealed record PriceResponse(
    string Id,
    string Product,
    string Currency,
    BillingScheme BillingScheme,
    TiersMode? TiersMode,
    long? UnitAmount,
    IReadOnlyList<TierResponse>? Tiers,
    string Type,
    RecurringResponse? Recurring,
    string? Nickname,
    bool Active,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created)
{
    public string Object => "price";

    public static PriceResponse From(Price p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new(
            p.Id,
            p.ProductId,
            p.Currency.Code.ToLowerInvariant(),
            p.Scheme,
            p.TiersMode,
            p.UnitAmount,
            p.Scheme == Domain.Catalog.BillingScheme.Tiered ? [.. p.Tiers.Select(t => new TierResponse(t.UpTo is { } u ? u : "inf", t.UnitAmount, t.FlatAmount))] : null,
            p.IsRecurring ? "recurring" : "one_time",
            p.Recurring is { } r ? new RecurringResponse(r.Unit, r.Count, p.TrialPeriodDays) : null,
            p.Nickname,
            p.Active,
            p.Metadata,
            p.Created);
    }
}

/// <summary>A tier on the wire; <c>up_to</c> is a number or <c>"inf"</c>.</summary>
public sealed record TierResponse(object UpTo, long UnitAmount, long FlatAmount);

/// <summary>Recurrence on the wire.</summary>
public sealed record RecurringResponse(IntervalUnit Interval, int IntervalCount, int? TrialPeriodDays);
