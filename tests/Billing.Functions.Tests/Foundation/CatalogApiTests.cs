using System.Net;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class CatalogApiTests(AppFixture fixture)
{
    private readonly HttpClient admin = fixture.App.Admin();

    private async Task<string> ProductAsync(string name = "Team plan") => (await admin.PostJsonAsync("/api/products", new { name })).Id();

    [Fact]
    public async Task Prices_of_every_scheme_are_created_and_read_back()
    {
        var product = await ProductAsync();

        var flat = await admin.PostJsonAsync("/api/prices", new { product, currency = "usd", billing_scheme = "flat", unit_amount = 4900, recurring = new { interval = "month" } });
        var seats = await admin.PostJsonAsync("/api/prices", new { product, currency = "eur", billing_scheme = "per_unit", unit_amount = 1200, recurring = new { interval = "year", interval_count = 1 }, trial_period_days = 14 });
        var graduated = await admin.PostJsonAsync("/api/prices", """
            {"product":"PRODUCT","currency":"jpy","billing_scheme":"tiered","tiers_mode":"graduated",
             "tiers":[{"up_to":10,"unit_amount":500},{"up_to":"inf","unit_amount":400,"flat_amount":1000}],"recurring":{"interval":"week","interval_count":2}}
            """.Replace("PRODUCT", product, StringComparison.Ordinal));
        var volume = await admin.PostJsonAsync("/api/prices", new { product, currency = "kwd", billing_scheme = "tiered", tiers_mode = "volume", tiers = new object[] { new { up_to = 5, unit_amount = 1000 }, new { up_to = "inf", unit_amount = 800 } } });

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created], new[] { flat.Status, seats.Status, graduated.Status, volume.Status });
        var read = await admin.GetJsonAsync($"/api/prices/{graduated.Id()}");
        Assert.Equal("jpy", (string?)read.Body["currency"]);
        Assert.Equal("graduated", (string?)read.Body["tiers_mode"]);
        Assert.Equal(10, (long)read.Body["tiers"]![0]!["up_to"]!);
        Assert.Equal("inf", (string?)read.Body["tiers"]![1]!["up_to"]);
        Assert.Equal(1000, (long)read.Body["tiers"]![1]!["flat_amount"]!);
        Assert.Equal(2, (int)read.Body["recurring"]!["interval_count"]!);
        Assert.Equal(14, (int)seats.Body["recurring"]!["trial_period_days"]!);
        Assert.Equal("one_time", (string?)volume.Body["type"]);
        Assert.Equal("recurring", (string?)flat.Body["type"]);
    }

    [Fact]
    public async Task Invalid_prices_list_every_problem()
    {
        var product = await ProductAsync();
        var errors = (await admin.PostJsonAsync("/api/prices", new
        {
            product,
            currency = "abc",
            billing_scheme = "tiered",
            tiers = new object[] { new { up_to = 10, unit_amount = 5 }, new { up_to = 5, unit_amount = 4 } },
            recurring = new { interval = "month", interval_count = 40 },
            trial_period_days = 0,
        })).AssertProblem(HttpStatusCode.BadRequest);

        Assert.Equal(
            ["currency", "recurring.interval_count", "tiers[1].up_to", "tiers_mode", "trial_period_days"],
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_price_needs_an_existing_active_product()
    {
        (await admin.PostJsonAsync("/api/prices", new { currency = "usd", billing_scheme = "flat", unit_amount = 1 })).AssertProblem(HttpStatusCode.BadRequest);
        var missing = (await admin.PostJsonAsync("/api/prices", new { product = "prod_01AAAAAAAAAAAAAAAAAAAAAAAA", currency = "usd", billing_scheme = "flat", unit_amount = 1 }))
            .AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(missing.ContainsKey("product"));

        var product = await ProductAsync();
        Assert.False((bool)(await admin.PostJsonAsync($"/api/products/{product}/archive")).Body["active"]!);
        var archived = (await admin.PostJsonAsync("/api/prices", new { product, currency = "usd", billing_scheme = "flat", unit_amount = 1 })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(archived.ContainsKey("product"));
    }

    [Fact]
    public async Task Bad_enum_values_are_400()
    {
        var product = await ProductAsync();
        var errors = (await admin.PostJsonAsync("/api/prices", new { product, currency = "usd", billing_scheme = "per_banana", unit_amount = 1 })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey("billing_scheme"));
    }

    [Fact]
    public async Task Archiving_a_price_keeps_it_readable_and_filters_lists()
    {
        var product = await ProductAsync("Filter plan");
        var old = (await admin.PostJsonAsync("/api/prices", new { product, currency = "usd", billing_scheme = "flat", unit_amount = 1000, recurring = new { interval = "month" } })).Id();
        var replacement = (await admin.PostJsonAsync("/api/prices", new { product, currency = "usd", billing_scheme = "flat", unit_amount = 1200, recurring = new { interval = "month" } })).Id();

        var archived = await admin.PostJsonAsync($"/api/prices/{old}/archive");

        Assert.False((bool)archived.Body["active"]!);
        Assert.Equal(1000, (long)(await admin.GetJsonAsync($"/api/prices/{old}")).Body["unit_amount"]!);
        var active = await admin.GetJsonAsync($"/api/prices?product={product}&active=true");
        Assert.Equal([replacement], active.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        var all = await admin.GetJsonAsync($"/api/prices?product={product}");
        Assert.Equal([replacement, old], all.Body["data"]!.AsArray().Select(p => (string)p!["id"]!));
        var restored = await admin.PostJsonAsync($"/api/prices/{old}/unarchive");
        Assert.True((bool)restored.Body["active"]!);
    }

    [Fact]
    public async Task Products_list_newest_first_and_filter_by_active()
    {
        var first = await ProductAsync("List A");
        var second = await ProductAsync("List B");
        await admin.PostJsonAsync($"/api/products/{first}/archive");

        var page = await admin.GetJsonAsync("/api/products?limit=100&active=false");
        var ids = page.Body["data"]!.AsArray().Select(p => (string)p!["id"]!).ToList();
        Assert.Contains(first, ids);
        Assert.DoesNotContain(second, ids);
        (await admin.GetJsonAsync("/api/products?active=maybe")).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.GetJsonAsync("/api/products/prod_01AAAAAAAAAAAAAAAAAAAAAAAA")).AssertProblem(HttpStatusCode.NotFound);
    }
}
