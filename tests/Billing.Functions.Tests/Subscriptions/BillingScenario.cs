using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Payments;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Subscriptions;

/// <summary>
/// A stand-in for the payment gateway in API tests, scripted per customer by the metadata key <c>test_card</c>
/// (<c>visa</c> or absent: succeeds; <c>declined</c>; <c>insufficient_funds</c>; <c>authentication_required</c>;
/// <c>timeout_once</c>: the first call for an attempt throws as a network error would, after charging). Like the real
/// gateway it honours the idempotency key <c>{invoice}:attempt:{n}</c>: a repeated key never charges again.
/// </summary>
public sealed class ScriptedCollector : IInvoiceCollector
{
    private readonly ConcurrentDictionary<string, CollectionResult> charges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> calls = new(StringComparer.Ordinal);

    /// <summary>Successful charges by idempotency key.</summary>
    public IReadOnlyDictionary<string, CollectionResult> Charges => charges;

    public int CallsFor(string key) => calls.GetValueOrDefault(key);

    public Task<CollectionResult> CollectAsync(Invoice invoice, Customer customer, int attempt, bool offSession, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        ArgumentNullException.ThrowIfNull(customer);
        var key = $"{invoice.Id}:attempt:{attempt}";
        var count = calls.AddOrUpdate(key, 1, (_, n) => n + 1);
        var card = customer.Metadata.GetValueOrDefault("test_card", "visa");
        var result = charges.GetOrAdd(key, _ => card switch
        {
            "declined" => CollectionResult.Declined("pi_" + key, "generic_decline", DeclineClass.NeverRetry, "Your card was declined."),
            "insufficient_funds" => CollectionResult.Declined("pi_" + key, "insufficient_funds", DeclineClass.RetryLater, "Your card has insufficient funds."),
            "authentication_required" => CollectionResult.NeedsAction("pi_" + key, $"pi_{invoice.Id}_secret_{attempt}"),
            _ => CollectionResult.Succeeded("pi_" + key, invoice.AmountRemaining),
        });
        if (card == "timeout_once" && count == 1)
        {
            throw new HttpRequestException("The payment gateway did not answer in time.");
        }

        return Task.FromResult(result);
    }

    public Task<CollectionResult> RefreshAsync(Invoice invoice, string paymentId, CancellationToken cancellationToken = default) =>
        Task.FromResult(charges.Values.First(c => c.PaymentId == paymentId));
}

/// <summary>Catalog and customer set-up shared by the subscription and invoice API tests.</summary>
public sealed class BillingScenario(HttpClient admin)
{
    public HttpClient Admin => admin;

    public static BillingApp CreateApp(AppFixture fixture, ScriptedCollector collector, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var merged = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Invoicing:SellerName"] = "Northwind Billing Ltd",
            ["Invoicing:SellerAddress"] = "1 Harbour Street; London EC1 1AA; GB",
            ["Invoicing:SellerTaxId"] = "GB123456789",
        };
        // Own tables: real-time renewals scheduled here must not be run by other tests' sweeps (and vice versa).
        merged.TryAdd("Storage:NamePrefix", "subs");
        return new BillingApp(fixture.Azurite.ConnectionString, merged, services => services.AddSingleton<IInvoiceCollector>(collector));
    }

    public async Task<string> PriceAsync(long unitAmount, string currency = "usd", string interval = "month", int? trialDays = null, string productName = "Pro plan")
    {
        var product = await admin.PostJsonAsync("/api/products", new { name = productName });
        Assert.Equal(HttpStatusCode.Created, product.Status);
        object body = trialDays is null
            ? new { product = product.Id(), currency, billing_scheme = "per_unit", unit_amount = unitAmount, recurring = new { interval } }
            : new { product = product.Id(), currency, billing_scheme = "per_unit", unit_amount = unitAmount, recurring = new { interval }, trial_period_days = trialDays };
        var price = await admin.PostJsonAsync("/api/prices", body);
        Assert.Equal(HttpStatusCode.Created, price.Status);
        return price.Id();
    }

    /// <summary>A test clock frozen at <paramref name="start"/> and a customer with a card bound to it.</summary>
    public async Task<(string Clock, string Customer)> ClockedCustomerAsync(DateTimeOffset start, string card = "visa", string name = "Timeline")
    {
        var clock = await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = start });
        Assert.Equal(HttpStatusCode.Created, clock.Status);
        var customer = await admin.CreateCustomerAsync(new { name, test_clock = clock.Id(), metadata = new Dictionary<string, string> { ["test_card"] = card } });
        return (clock.Id(), customer);
    }

    /// <summary>Moves a test clock to <paramref name="to"/>, running everything that falls due on the way.</summary>
    public async Task AdvanceAsync(string clock, DateTimeOffset to)
    {
        var advanced = await admin.PostJsonAsync($"/api/test-clocks/{clock}/advance", new { frozen_time = to });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body.ToJsonString());
    }

    public Task<string> CustomerAsync(string card = "visa", string name = "Ada Lovelace") =>
        admin.CreateCustomerAsync(new { email = "ada@example.com", name, metadata = new Dictionary<string, string> { ["test_card"] = card } });

    public async Task<string> TaxRateAsync(decimal percentage, bool inclusive = false, string name = "VAT")
    {
        var rate = await admin.PostJsonAsync("/api/tax-rates", new { display_name = name, percentage, inclusive });
        Assert.Equal(HttpStatusCode.Created, rate.Status);
        return rate.Id();
    }

    public async Task<JsonNode> SubscribeAsync(string customer, string price, long quantity = 1, object? extra = null, string? idempotencyKey = null)
    {
        var body = new JsonObject
        {
            ["customer"] = customer,
            ["items"] = new JsonArray(new JsonObject { ["price"] = price, ["quantity"] = quantity }),
        };
        if (extra is not null)
        {
            foreach (var (key, value) in JsonSerializerHelper.ToObject(extra))
            {
                body[key] = value?.DeepClone();
            }
        }

        var created = await admin.PostJsonAsync("/api/subscriptions", body.ToJsonString(), idempotencyKey);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Body;
    }

    public async Task<JsonNode> InvoiceAsync(string id)
    {
        var invoice = await admin.GetJsonAsync($"/api/invoices/{id}");
        Assert.Equal(HttpStatusCode.OK, invoice.Status);
        return invoice.Body;
    }

    public async Task<string> TokenAsync(string customer)
    {
        var session = await admin.PostJsonAsync($"/api/customers/{customer}/sessions", new { });
        Assert.Equal(HttpStatusCode.Created, session.Status);
        return (string)session.Body["token"]!;
    }

    /// <summary><c>round(amount × num / den)</c>, half away from zero, as the domain rounds.</summary>
    public static long Prorate(long amount, long numerator, long denominator) =>
        (long)Math.Round((decimal)amount * numerator / denominator, MidpointRounding.AwayFromZero);
}

/// <summary>Anonymous objects as snake_case JSON objects.</summary>
public static class JsonSerializerHelper
{
    public static JsonObject ToObject(object value) =>
        System.Text.Json.JsonSerializer.SerializeToNode(value, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower })!.AsObject();
}

/// <summary>One app with the <see cref="ScriptedCollector"/> for the whole run (starting an app per test would be slow).</summary>
public static class ScriptedApp
{
    private static readonly Lock Gate = new();
    private static (BillingApp App, ScriptedCollector Collector)? shared;

    public static (BillingApp App, ScriptedCollector Collector) For(AppFixture fixture)
    {
        lock (Gate)
        {
            if (shared is null)
            {
                var collector = new ScriptedCollector();
                shared = (BillingScenario.CreateApp(fixture, collector), collector);
            }

            return shared.Value;
        }
    }
}
