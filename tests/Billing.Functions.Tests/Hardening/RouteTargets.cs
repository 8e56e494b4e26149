using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Notifications;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Hardening;

/// <summary>Whether another customer's token may see a customer-policy route's target.</summary>
public enum Ownership
{
    /// <summary>The target belongs to the customer: another customer's token gets 404.</summary>
    Customer,

    /// <summary>Every customer token may see it (the catalog), or the route is admin-only and the question does not arise.</summary>
    Shared,
}

/// <summary>Where a factory makes things: the app (with its Stripe emulator), an admin client and the customer that should own the target.</summary>
public sealed class TargetContext(PaymentsHarness harness, string customerId)
{
    public PaymentsHarness Harness { get; } = harness;

    public BillingApp App => Harness.App;

    public HttpClient Admin => Harness.Admin;

    /// <summary>The customer the target must belong to (created fresh for each target).</summary>
    public string CustomerId { get; } = customerId;

    /// <summary>POSTs with the admin key and returns the new object's id; fails the test if it was not created.</summary>
    public async Task<string> CreateAsync(string path, object body)
    {
        var created = await Admin.PostJsonAsync(path, body);
        Assert.True(created.Status is HttpStatusCode.Created or HttpStatusCode.OK, $"Setup POST {path} answered {(int)created.Status}: {created.Body.ToJsonString()}");
        return created.Id();
    }

    /// <summary>Attaches the emulator's test card to the customer (the first card becomes the default) and returns its id.</summary>
    public Task<string> CardAsync() => CreateAsync($"/api/customers/{CustomerId}/payment-methods", new { payment_method = "pm_card_visa" });

    /// <summary>A succeeded one-off payment of the customer (paid with a card attached first).</summary>
    public async Task<string> PaymentAsync()
    {
        await CardAsync();
        var paid = await Admin.PostJsonAsync("/api/payments", new { customer = CustomerId, amount = 5000, currency = "usd", description = "hardening" }, Guid.NewGuid().ToString("N"));
        Assert.True(paid.Status == HttpStatusCode.Created, $"Setup payment answered {(int)paid.Status}: {paid.Body.ToJsonString()}");
        return paid.Id();
    }

    /// <summary>A dispute on a payment of the customer (the emulator's <c>pm_card_createDispute</c>), once its webhook has been processed.</summary>
    public async Task<string> DisputeAsync()
    {
        await CreateAsync($"/api/customers/{CustomerId}/payment-methods", new { payment_method = "pm_card_createDispute" });
        var paid = await Admin.PostJsonAsync("/api/payments", new { customer = CustomerId, amount = 1000, currency = "usd" }, Guid.NewGuid().ToString("N"));
        Assert.True(paid.Status == HttpStatusCode.Created, $"Setup payment answered {(int)paid.Status}: {paid.Body.ToJsonString()}");
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await Harness.DrainEventsAsync();
            if ((await Admin.GetJsonAsync($"/api/disputes?customer={CustomerId}")).Body["data"]?.AsArray() is [{ } dispute, ..])
            {
                return dispute["id"]!.GetValue<string>();
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"No dispute appeared for {CustomerId}.");
    }

    /// <summary>An active monthly subscription of the customer (card attached first); returns (subscription id, its item id).</summary>
    public async Task<(string Subscription, string Item)> SubscriptionAsync()
    {
        await CardAsync();
        var created = await Admin.PostJsonAsync("/api/subscriptions", new { customer = CustomerId, items = new[] { new { price = await PriceAsync(), quantity = 1 } } }, Guid.NewGuid().ToString("N"));
        Assert.True(created.Status == HttpStatusCode.Created, $"Setup subscription answered {(int)created.Status}: {created.Body.ToJsonString()}");
        var items = created.Body["items"] is JsonObject page ? page["data"] : created.Body["items"];
        return (created.Id(), items![0]!["id"]!.GetValue<string>());
    }

    /// <summary>A draft invoice of the customer with one item, sent (not charged) when finalized.</summary>
    public Task<string> DraftInvoiceAsync() => CreateAsync("/api/invoices", new
    {
        customer = CustomerId,
        currency = "usd",
        collection_method = "send_invoice",
        days_until_due = 30,
        items = new[] { new { description = "Hardening work", unit_amount = 5000, quantity = 1 } },
    });

    /// <summary>A finalized (open) invoice of the customer.</summary>
    public async Task<string> OpenInvoiceAsync()
    {
        var id = await DraftInvoiceAsync();
        var finalized = await Admin.PostJsonAsync($"/api/invoices/{id}/finalize");
        Assert.True(finalized.Status == HttpStatusCode.OK, $"Finalizing answered {(int)finalized.Status}: {finalized.Body.ToJsonString()}");
        return id;
    }

    public Task<string> ProductAsync() => CreateAsync("/api/products", new { name = "Hardening plan" });

    public async Task<string> PriceAsync() => await CreateAsync("/api/prices", new
    {
        product = await ProductAsync(),
        currency = "usd",
        billing_scheme = "per_unit",
        unit_amount = 1200,
        recurring = new { interval = "month" },
    });
}

/// <summary>How to make a real target for a route pattern: its route values (and any extra values sample bodies use).</summary>
public sealed record RouteTarget(Ownership Ownership, Func<TargetContext, Task<Dictionary<string, string>>> Create);

/// <summary>A valid body for one endpoint, and the fields it cannot do without.</summary>
public sealed record SampleBody(Func<TargetContext, IReadOnlyDictionary<string, string>, Task<JsonObject>> Create, params string[] Required);

/// <summary>
/// The registry both suites read. <b>Adding an endpoint?</b> If its route has parameters, or it is a customer-policy
/// endpoint, add its pattern to <see cref="Targets"/> (the authorization matrix fails until you do). If it takes a JSON
/// body, add a valid body to <see cref="Bodies"/> (required when the OpenAPI document has no schema for it; otherwise
/// it makes the matrix reach 2xx and gives the bad-input corpus a valid body to mutate).
/// </summary>
public static class RouteTargets
{
    private static Task<Dictionary<string, string>> None(TargetContext _) => Task.FromResult(new Dictionary<string, string>());

    private static Task<Dictionary<string, string>> TheCustomer(TargetContext c) => Task.FromResult(new Dictionary<string, string> { ["id"] = c.CustomerId });

    private static async Task<Dictionary<string, string>> ACard(TargetContext c) => new() { ["id"] = c.CustomerId, ["pm"] = await c.CardAsync() };

    private static async Task<Dictionary<string, string>> APayment(TargetContext c) => new() { ["id"] = await c.PaymentAsync() };

    private static async Task<Dictionary<string, string>> ADispute(TargetContext c) => new() { ["id"] = await c.DisputeAsync() };

    private static async Task<Dictionary<string, string>> ADisputeWithEvidence(TargetContext c)
    {
        var id = await c.DisputeAsync();
        var staged = await c.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { customer_name = "Someone", uncategorized_text = "Delivered." } });
        Assert.True(staged.Status == HttpStatusCode.OK, $"Staging evidence answered {(int)staged.Status}: {staged.Body.ToJsonString()}");
        return new() { ["id"] = id };
    }

    private static async Task<Dictionary<string, string>> ASubscription(TargetContext c)
    {
        var (subscription, item) = await c.SubscriptionAsync();
        return new() { ["id"] = subscription, ["item"] = item };
    }

    private static async Task<Dictionary<string, string>> ADraftInvoice(TargetContext c) => new() { ["id"] = await c.DraftInvoiceAsync() };

    private static async Task<Dictionary<string, string>> AnOpenInvoice(TargetContext c) => new() { ["id"] = await c.OpenInvoiceAsync() };

    private static async Task<Dictionary<string, string>> ADraftInvoiceLine(TargetContext c)
    {
        var id = await c.DraftInvoiceAsync();
        var invoice = await c.Admin.GetJsonAsync($"/api/invoices/{id}");
        return new() { ["id"] = id, ["lineId"] = invoice.Body["lines"]![0]!["id"]!.GetValue<string>() };
    }

    private static async Task<Dictionary<string, string>> ACustomerWithADiscount(TargetContext c)
    {
        var coupon = await c.CreateAsync("/api/coupons", new { name = "Hardening customer", percent_off = 15, duration = "repeating", duration_in_months = 3 });
        var applied = await c.Admin.PostJsonAsync($"/api/customers/{c.CustomerId}/discount", new { coupon });
        Assert.True(applied.Status == HttpStatusCode.OK, $"Setup discount answered {(int)applied.Status}: {applied.Body.ToJsonString()}");
        return new() { ["id"] = c.CustomerId };
    }

    private static async Task<Dictionary<string, string>> ACoupon(TargetContext c) =>
        new() { ["id"] = await c.CreateAsync("/api/coupons", new { name = "Hardening", percent_off = 10, duration = "once" }) };

    private static async Task<Dictionary<string, string>> ATaxRate(TargetContext c) =>
        new() { ["id"] = await c.CreateAsync("/api/tax-rates", new { display_name = "VAT", percentage = 20, inclusive = false }) };

    private static async Task<Dictionary<string, string>> ACreditNote(TargetContext c) =>
        new() { ["id"] = await c.CreateAsync("/api/credit-notes", new { invoice = await c.OpenInvoiceAsync(), amount = 100 }) };

    private static async Task<Dictionary<string, string>> AProduct(TargetContext c) => new() { ["id"] = await c.ProductAsync() };

    private static async Task<Dictionary<string, string>> APrice(TargetContext c) => new() { ["id"] = await c.PriceAsync() };

    private static async Task<Dictionary<string, string>> AWebhookEndpoint(TargetContext c) =>
        new() { ["id"] = await c.CreateAsync("/api/webhook-endpoints", new { url = "http://merchant.test/hooks", enabled_events = new[] { "*" } }) };

    private static async Task<Dictionary<string, string>> AnEvent(TargetContext c)
    {
        await c.App.Services.GetRequiredService<INotifier>().PublishAsync("invoice.paid", c.CustomerId, new { id = "in_hardening", amount_paid = 100 });
        var events = await c.Admin.GetJsonAsync("/api/events?limit=100");
        var id = events.Body["data"]!.AsArray().Select(e => e!).First(e => (string?)e["customer"] == c.CustomerId)["id"]!.GetValue<string>();
        return new() { ["id"] = id };
    }

    private static async Task<Dictionary<string, string>> ATestClock(TargetContext c) =>
        new() { ["id"] = await c.CreateAsync("/api/test-clocks", new { frozen_time = "2026-01-01T00:00:00Z", name = "hardening" }) };

    /// <summary>A value under this key is sent as the query string (for endpoints with a required query parameter).</summary>
    public const string Query = "?";

    /// <summary>Route pattern (as <see cref="ApiSurface.Normalize"/> writes it), or "METHOD pattern" for one method of it → how to make its target.</summary>
    public static readonly IReadOnlyDictionary<string, RouteTarget> Targets = new Dictionary<string, RouteTarget>(StringComparer.Ordinal)
    {
        ["/api/customers/{id}"] = new(Ownership.Customer, TheCustomer),
        ["/api/customers/{id}/sessions"] = new(Ownership.Customer, TheCustomer),
        ["/api/customers/{id}/schedule"] = new(Ownership.Customer, TheCustomer),
        ["/api/customers/{id}/setup-intents"] = new(Ownership.Customer, TheCustomer),
        ["/api/customers/{id}/payment-methods"] = new(Ownership.Customer, TheCustomer),
        ["/api/customers/{id}/payment-methods/{pm}"] = new(Ownership.Customer, ACard),
        ["/api/customers/{id}/payment-methods/{pm}/default"] = new(Ownership.Customer, ACard),
        ["/api/customers/{id}/discount"] = new(Ownership.Customer, ACustomerWithADiscount),
        ["POST /api/payments"] = new(Ownership.Customer, None), // the body names the customer
        ["GET /api/payments"] = new(Ownership.Shared, async c => { await c.PaymentAsync(); return []; }), // a customer token lists only its own: the owner's payment must not show
        ["/api/payments/{id}"] = new(Ownership.Customer, APayment),
        ["/api/payments/{id}/refunds"] = new(Ownership.Customer, APayment),
        ["GET /api/stripe-events"] = new(Ownership.Shared, _ => Task.FromResult(new Dictionary<string, string> { [Query] = "type=charge.dispute.created" })),
        ["/api/products"] = new(Ownership.Shared, None),
        ["/api/products/{id}"] = new(Ownership.Shared, AProduct),
        ["/api/products/{id}/archive"] = new(Ownership.Shared, AProduct),
        ["/api/products/{id}/unarchive"] = new(Ownership.Shared, AProduct),
        ["/api/prices"] = new(Ownership.Shared, None),
        ["/api/prices/{id}"] = new(Ownership.Shared, APrice),
        ["/api/prices/{id}/archive"] = new(Ownership.Shared, APrice),
        ["/api/prices/{id}/unarchive"] = new(Ownership.Shared, APrice),
        ["/api/webhook-endpoints/{id}"] = new(Ownership.Shared, AWebhookEndpoint),
        ["/api/webhook-endpoints/{id}/deliveries"] = new(Ownership.Shared, AWebhookEndpoint),
        ["/api/disputes/{id}"] = new(Ownership.Shared, ADispute),
        ["/api/disputes/{id}/evidence"] = new(Ownership.Shared, ADispute),
        ["/api/disputes/{id}/submit"] = new(Ownership.Shared, ADisputeWithEvidence),
        ["/api/disputes/{id}/accept"] = new(Ownership.Shared, ADispute),
        ["GET /api/subscriptions"] = new(Ownership.Shared, async c => { await c.SubscriptionAsync(); return []; }), // lists only the token's own
        ["/api/subscriptions/{id}"] = new(Ownership.Customer, ASubscription),
        ["/api/subscriptions/{id}/history"] = new(Ownership.Customer, ASubscription),
        ["/api/subscriptions/{id}/cancel"] = new(Ownership.Customer, ASubscription),
        ["/api/subscriptions/{id}/resume"] = new(Ownership.Customer, ASubscription),
        ["/api/subscriptions/{id}/preview"] = new(Ownership.Customer, ASubscription),
        ["GET /api/invoices"] = new(Ownership.Shared, async c => { await c.OpenInvoiceAsync(); return []; }), // lists only the token's own
        ["/api/invoices/{id}"] = new(Ownership.Customer, AnOpenInvoice),
        ["/api/invoices/{id}/pdf"] = new(Ownership.Customer, AnOpenInvoice),
        ["PATCH /api/invoices/{id}"] = new(Ownership.Customer, ADraftInvoice),
        ["DELETE /api/invoices/{id}"] = new(Ownership.Customer, ADraftInvoice),
        ["/api/invoices/{id}/lines"] = new(Ownership.Customer, ADraftInvoice),
        ["/api/invoices/{id}/lines/{lineId}"] = new(Ownership.Customer, ADraftInvoiceLine),
        ["/api/invoices/{id}/finalize"] = new(Ownership.Customer, ADraftInvoice),
        ["/api/invoices/{id}/void"] = new(Ownership.Customer, AnOpenInvoice),
        ["/api/invoices/{id}/mark-uncollectible"] = new(Ownership.Customer, AnOpenInvoice),
        ["/api/invoices/{id}/pay"] = new(Ownership.Customer, AnOpenInvoice),
        ["/api/coupons/{id}"] = new(Ownership.Shared, ACoupon),
        ["/api/tax-rates/{id}"] = new(Ownership.Shared, ATaxRate),
        ["/api/credit-notes/{id}"] = new(Ownership.Shared, ACreditNote),
        ["/api/events/{id}"] = new(Ownership.Shared, AnEvent),
        ["/api/test-clocks/{id}"] = new(Ownership.Shared, ATestClock),
        ["/api/test-clocks/{id}/advance"] = new(Ownership.Shared, ATestClock),
    };

    /// <summary>"METHOD pattern" → a valid body.</summary>
    public static readonly IReadOnlyDictionary<string, SampleBody> Bodies = new Dictionary<string, SampleBody>(StringComparer.Ordinal)
    {
        ["POST /api/customers"] = new((_, _) => Task.FromResult(new JsonObject
        {
            ["email"] = "hardening@example.com",
            ["name"] = "Hardening",
            ["preferred_currency"] = "usd",
            ["billing_address"] = new JsonObject { ["city"] = "Oslo", ["country"] = "NO" },
            ["metadata"] = new JsonObject { ["suite"] = "hardening" },
        })),
        ["PATCH /api/customers/{id}"] = new((_, _) => Task.FromResult(new JsonObject { ["name"] = "Renamed", ["preferred_currency"] = "eur" })),
        ["POST /api/customers/{id}/sessions"] = new((_, _) => Task.FromResult(new JsonObject { ["ttl_seconds"] = 600 })),
        ["POST /api/customers/{id}/payment-methods"] = new((_, _) => Task.FromResult(new JsonObject { ["payment_method"] = "pm_card_visa" }), "payment_method"),
        ["POST /api/payments"] = new(async (c, _) =>
        {
            await c.CardAsync();
            return new JsonObject { ["customer"] = c.CustomerId, ["amount"] = 2500, ["currency"] = "usd", ["description"] = "hardening", ["metadata"] = new JsonObject { ["order"] = "1" } };
        }, "customer", "amount", "currency"),
        ["POST /api/payments/{id}/refunds"] = new((_, _) => Task.FromResult(new JsonObject { ["amount"] = 100, ["reason"] = "requested_by_customer", ["metadata"] = new JsonObject { ["k"] = "v" } })),
        ["POST /api/webhooks/stripe"] = new((_, _) => Task.FromResult(new JsonObject { ["id"] = "evt_hardening", ["object"] = "event", ["type"] = "payment_intent.succeeded" })),
        ["PATCH /api/disputes/{id}/evidence"] = new((_, _) => Task.FromResult(new JsonObject
        {
            ["evidence"] = new JsonObject { ["customer_name"] = "Someone", ["uncategorized_text"] = "Delivered and used." },
        }), "evidence"),
        ["POST /api/disputes/{id}/accept"] = new((_, _) => Task.FromResult(new JsonObject { ["confirm"] = "accept" }), "confirm"),
        ["POST /api/subscriptions"] = new(async (c, _) =>
        {
            await c.CardAsync();
            return new JsonObject
            {
                ["customer"] = c.CustomerId,
                ["items"] = new JsonArray(new JsonObject { ["price"] = await c.PriceAsync(), ["quantity"] = 2 }),
                ["metadata"] = new JsonObject { ["k"] = "v" },
            };
        }, "customer", "items"),
        ["PATCH /api/subscriptions/{id}"] = new((_, _) => Task.FromResult(new JsonObject { ["cancel_at_period_end"] = true, ["metadata"] = new JsonObject { ["k"] = "v" } })),
        ["POST /api/subscriptions/{id}/preview"] = new((_, v) => Task.FromResult(new JsonObject
        {
            ["items"] = new JsonArray(new JsonObject { ["id"] = v["item"], ["quantity"] = 3 }),
        }), "items"),
        ["POST /api/subscriptions/{id}/cancel"] = new((_, _) => Task.FromResult(new JsonObject { ["prorate"] = false, ["invoice_now"] = false })),
        ["POST /api/invoices"] = new((c, _) => Task.FromResult(new JsonObject
        {
            ["customer"] = c.CustomerId,
            ["currency"] = "usd",
            ["collection_method"] = "send_invoice",
            ["days_until_due"] = 30,
            ["items"] = new JsonArray(new JsonObject { ["description"] = "Work", ["unit_amount"] = 1200, ["quantity"] = 1 }),
            ["metadata"] = new JsonObject { ["k"] = "v" },
        }), "customer"),
        ["POST /api/invoices/{id}/pay"] = new((_, _) => Task.FromResult(new JsonObject { ["paid_out_of_band"] = true })),
        ["PATCH /api/invoices/{id}"] = new(async (c, _) => new JsonObject
        {
            ["description"] = "Edited",
            ["footer"] = "Pay within 14 days.",
            ["collection_method"] = "send_invoice",
            ["days_until_due"] = 14,
            ["coupon"] = await c.CreateAsync("/api/coupons", new { name = "Draft edit", amount_off = 100, currency = "usd", duration = "once" }),
            ["default_tax_rates"] = new JsonArray(await c.CreateAsync("/api/tax-rates", new { display_name = "VAT", percentage = 20, inclusive = false })),
            ["metadata"] = new JsonObject { ["k"] = "v" },
        }),
        ["POST /api/invoices/{id}/lines"] = new((_, _) => Task.FromResult(new JsonObject
        {
            ["lines"] = new JsonArray(new JsonObject { ["description"] = "Extra work", ["unit_amount"] = 700, ["quantity"] = 2, ["discountable"] = true }),
        }), "lines"),
        ["POST /api/customers/{id}/discount"] = new(async (c, _) => new JsonObject
        {
            ["coupon"] = await c.CreateAsync("/api/coupons", new { name = "Loyalty", percent_off = 5, duration = "forever" }),
        }, "coupon"),
        ["POST /api/coupons"] = new((_, _) => Task.FromResult(new JsonObject { ["name"] = "Launch", ["percent_off"] = 10, ["duration"] = "once" }), "duration"),
        ["POST /api/tax-rates"] = new((_, _) => Task.FromResult(new JsonObject { ["display_name"] = "VAT", ["percentage"] = 20, ["inclusive"] = false, ["jurisdiction"] = "NO" }), "display_name", "percentage"),
        ["POST /api/credit-notes"] = new(async (c, _) => new JsonObject { ["invoice"] = await c.OpenInvoiceAsync(), ["amount"] = 100, ["memo"] = "hardening" }, "invoice"),
        ["POST /api/products"] = new((_, _) => Task.FromResult(new JsonObject { ["name"] = "Plan", ["description"] = "A plan", ["metadata"] = new JsonObject { ["k"] = "v" } }), "name"),
        ["POST /api/prices"] = new(async (c, _) => new JsonObject
        {
            ["product"] = await c.ProductAsync(),
            ["currency"] = "usd",
            ["billing_scheme"] = "per_unit",
            ["unit_amount"] = 1200,
            ["recurring"] = new JsonObject { ["interval"] = "month", ["interval_count"] = 1 },
            ["trial_period_days"] = 14,
        }, "product", "currency", "billing_scheme", "unit_amount"),
        ["POST /api/webhook-endpoints"] = new((_, _) => Task.FromResult(new JsonObject
        {
            ["url"] = "http://merchant.test/hooks",
            ["enabled_events"] = new JsonArray("invoice.*"),
            ["description"] = "hardening",
        }), "url", "enabled_events"),
        ["PATCH /api/webhook-endpoints/{id}"] = new((_, _) => Task.FromResult(new JsonObject { ["enabled_events"] = new JsonArray("*"), ["disabled"] = true, ["description"] = "changed" })),
        ["POST /api/test-clocks"] = new((_, _) => Task.FromResult(new JsonObject { ["frozen_time"] = "2026-03-01T00:00:00Z", ["name"] = "clock" }), "frozen_time"),
        ["POST /api/test-clocks/{id}/advance"] = new((_, _) => Task.FromResult(new JsonObject { ["frozen_time"] = "2026-01-02T00:00:00Z" }), "frozen_time"),
    };

    /// <summary>
    /// List endpoints that do not take <c>limit</c>/<c>starting_after</c> (so the corpus sends them no paging queries),
    /// with the reason. The README says every list pages; each entry here is a known deviation.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Unpaged = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GET /api/customers/{id}/payment-methods"] = "returns every saved card of the customer at once (read from Stripe); limit and starting_after are ignored, even when invalid",
        ["GET /api/subscriptions/{id}/history"] = "returns the subscription's whole history at once; limit and starting_after are ignored, even when invalid",
        ["GET /api/customers/{id}/schedule"] = "returns all of the customer's pending work at once; limit and starting_after are ignored, even when invalid",
    };

    /// <summary>Lists whose ids are chosen by the merchant (any key-shaped string is a valid cursor), so <c>starting_after=garbage</c> is an empty page, not an error.</summary>
    public static readonly IReadOnlySet<string> FreeFormCursors = new HashSet<string>(StringComparer.Ordinal) { "GET /api/coupons" };

    /// <summary>The entry for "METHOD pattern" if there is one (when methods of a route differ in ownership), else for the pattern.</summary>
    public static RouteTarget? Find(ApiEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return Targets.GetValueOrDefault(endpoint.Key) ?? Targets.GetValueOrDefault(endpoint.Pattern);
    }

    /// <summary>Endpoints the registry must describe but does not, each with what to add.</summary>
    public static IEnumerable<string> Missing(IEnumerable<ApiEndpoint> endpoints) =>
        endpoints
            .Where(e => (e.Parameters.Count > 0 || e.Access == Access.Customer) && Find(e) is null)
            .Select(e => $"{e.Key} ({e.Access} policy{(e.Parameters.Count > 0 ? ", route parameters " + string.Join(", ", e.Parameters) : "")}) has no entry in " +
                $"{nameof(RouteTargets)}.{nameof(Targets)}: add [\"{e.Pattern}\"] (or [\"{e.Key}\"] for this method only) = new(Ownership.Customer or Ownership.Shared, " +
                "context => create a real target owned by context.CustomerId and return its route values).")
            .Distinct(StringComparer.Ordinal);

    /// <summary>A fresh target for <paramref name="endpoint"/> owned by the context's customer: route values and path.</summary>
    public static async Task<(Dictionary<string, string> Values, string Path)> CreateAsync(ApiEndpoint endpoint, TargetContext context)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var values = Find(endpoint) is { } target ? await target.Create(context) : [];
        return (values, endpoint.PathFor(values) + (values.TryGetValue(Query, out var query) ? "?" + query : ""));
    }
}
