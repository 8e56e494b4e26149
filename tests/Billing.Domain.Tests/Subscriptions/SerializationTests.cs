using System.Text.Json;
using System.Text.Json.Serialization;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;

namespace Billing.Domain.Tests.Subscriptions;

/// <summary>Storage serializes these records with System.Text.Json in snake_case: they must round-trip unchanged.</summary>
public class SerializationTests
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private static void RoundTrips<T>(T value)
    {
        var json = JsonSerializer.Serialize(value, Options);
        var back = JsonSerializer.Deserialize<T>(json, Options);
        Assert.Equal(json, JsonSerializer.Serialize(back, Options));
    }

    [Fact]
    public void Subscription_invoice_and_pending_items_round_trip_in_snake_case()
    {
        var world = new BillingWorld(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var vat = TaxRate.Create("txr_1", "VAT", 20m, inclusive: true, "FR", world.Now);
        var coupon = Coupon.Create("C", null, 10m, null, null, CouponDuration.Repeating, 2, world.Now);
        world.Subscribe(BillingWorld.Price("pro", 3000), configure: i => i with { DefaultTaxRates = [vat] });
        world.Sub = world.Sub.SetDiscount(Discount.Apply(coupon, world.Customer.Id, world.Sub.Id, "di_1", world.Now).Discount, world.Now)
            .ScheduleChangeAtPeriodEnd([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Quantity = 3 }], world.Now)
            .PauseCollectionWith(PauseCollectionBehavior.KeepAsDraft, world.Now.AddDays(3), world.Now);
        var json = JsonSerializer.Serialize(world.Sub, Options);
        Assert.Contains("\"status\":\"active\"", json, StringComparison.Ordinal);
        Assert.Contains("\"current_period_end\"", json, StringComparison.Ordinal);
        RoundTrips(world.Sub);
        RoundTrips(world.Invoices[0]);
        RoundTrips(world.Sub.CancelScheduledChange(world.Now).PreviewChange([new ItemUpdate { ItemId = world.Sub.Items[0].Id, Quantity = 2 }], ProrationBehavior.CreateProrations, world.Now.AddDays(1)));
        RoundTrips(NumberSequence.AccountWide().Take(world.Now).Next);
    }
}
