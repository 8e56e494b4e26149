using System.Net;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class PaymentsApiTests(AppFixture fixture)
{
    [Fact]
    public async Task A_customer_with_a_saved_card_is_charged_once_and_the_payment_mirrors_Stripe()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, card) = await h.CustomerWithCardAsync();

        var paid = await h.PayAsync(customer, 2500);

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.StartsWith("pay_", paid.Id(), StringComparison.Ordinal);
        Assert.Equal("succeeded", (string?)paid.Body["status"]);
        Assert.Equal(2500, (long)paid.Body["amount"]!);
        Assert.Equal(2500, (long)paid.Body["amount_received"]!);
        Assert.Equal("usd", (string?)paid.Body["currency"]);
        Assert.Equal(card, (string?)paid.Body["payment_method"]);
        Assert.Equal("visa", (string?)paid.Body["card_brand"]);
        Assert.Equal("4242", (string?)paid.Body["card_last4"]);
        Assert.StartsWith("pi_", (string?)paid.Body["stripe_payment_intent_id"], StringComparison.Ordinal);
        Assert.StartsWith("ch_", (string?)paid.Body["stripe_charge_id"], StringComparison.Ordinal);
        Assert.Null(paid.Body["client_secret"]);
        var intent = h.Emulator.GetObject((string)paid.Body["stripe_payment_intent_id"]!)!;
        Assert.Equal(paid.Id(), (string?)intent["metadata"]!["billing_payment_id"]);
        Assert.Equal(customer, (string?)intent["metadata"]!["billing_customer_id"]);

        var fetched = await h.Admin.GetJsonAsync($"/api/payments/{paid.Id()}");
        Assert.Equal("succeeded", (string?)fetched.Body["status"]);
        await h.DrainEventsAsync();
        var listed = await h.Admin.GetJsonAsync($"/api/payments?customer={customer}");
        Assert.Equal(paid.Id(), (string?)listed.Body["data"]![0]!["id"]);
        Assert.Equal("succeeded", (string?)listed.Body["data"]![0]!["status"]);
    }
}
