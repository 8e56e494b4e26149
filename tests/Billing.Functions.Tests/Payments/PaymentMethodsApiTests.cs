using System.Net;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class PaymentMethodsApiTests(AppFixture fixture)
{
    [Fact]
    public async Task A_setup_intent_links_a_Stripe_customer_once_and_gives_the_browser_a_client_secret()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        var other = await h.Admin.CreateCustomerAsync();
        var token = (string)(await h.Admin.PostJsonAsync($"/api/customers/{customer}/sessions")).Body["token"]!;
        using var browser = h.App.WithBearer(token);

        var first = await browser.PostJsonAsync($"/api/customers/{customer}/setup-intents");
        var second = await h.Admin.PostJsonAsync($"/api/customers/{customer}/setup-intents");

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.StartsWith("seti_", first.Id(), StringComparison.Ordinal);
        Assert.Contains("_secret_", (string?)first.Body["client_secret"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, second.Status);
        Assert.Equal(1, h.Emulator.Count("customer"));
        (await browser.PostJsonAsync($"/api/customers/{other}/setup-intents")).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_card_saved_through_a_setup_intent_becomes_the_default_when_Stripe_says_so()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        var intent = (await h.Admin.PostJsonAsync($"/api/customers/{customer}/setup-intents")).Id();
        var stripe = new Stripe.StripeClient("sk_test_browser", httpClient: new Stripe.SystemNetHttpClient(new HttpClient(h.Emulator.CreateHandler()), 0), apiBase: StripeEmulator.StripeEmulator.InProcessBaseUrl);
        await new Stripe.SetupIntentService(stripe).ConfirmAsync(intent, new Stripe.SetupIntentConfirmOptions { PaymentMethod = "pm_card_mastercard" });

        await h.DrainEventsAsync();

        var methods = (await h.Admin.GetJsonAsync($"/api/customers/{customer}/payment-methods")).Body["data"]!.AsArray();
        var saved = Assert.Single(methods)!;
        Assert.Equal("mastercard", (string?)saved["card"]!["brand"]);
        Assert.True((bool)saved["is_default"]!);
        Assert.Equal(HttpStatusCode.Created, (await h.PayAsync(customer, 1000)).Status);
    }

    [Fact]
    public async Task Cards_are_attached_listed_made_default_and_detached()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, visa) = await h.CustomerWithCardAsync();
        var amex = (await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = "pm_card_amex" })).Id();

        var listed = (await h.Admin.GetJsonAsync($"/api/customers/{customer}/payment-methods")).Body["data"]!.AsArray();
        Assert.Equal(2, listed.Count);
        Assert.True((bool)listed.Single(m => (string)m!["id"]! == visa)!["is_default"]!);
        Assert.Equal("4242", (string?)listed.Single(m => (string)m!["id"]! == visa)!["card"]!["last4"]);

        var made = await h.Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods/{amex}/default");
        Assert.Equal(HttpStatusCode.OK, made.Status);
        Assert.True((bool)made.Body["is_default"]!);
        var paid = await h.PayAsync(customer, 1000);
        Assert.Equal("amex", (string?)paid.Body["card_brand"]);

        Assert.Equal(HttpStatusCode.OK, (await h.Admin.DeleteJsonAsync($"/api/customers/{customer}/payment-methods/{amex}")).Status);
        var left = (await h.Admin.GetJsonAsync($"/api/customers/{customer}/payment-methods")).Body["data"]!.AsArray();
        Assert.Equal(visa, (string?)Assert.Single(left)!["id"]);
        var noDefault = await h.PayAsync(customer, 1000);
        noDefault.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("payment_method_required", (string?)noDefault.Body["code"]);
    }

    [Fact]
    public async Task Foreign_unknown_and_refused_cards_are_404_404_and_402()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (alice, aliceCard) = await h.CustomerWithCardAsync();
        var (bob, _) = await h.CustomerWithCardAsync();

        (await h.Admin.DeleteJsonAsync($"/api/customers/{bob}/payment-methods/{aliceCard}")).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.PostJsonAsync($"/api/customers/{bob}/payment-methods/{aliceCard}/default")).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.PostJsonAsync($"/api/customers/{bob}/payment-methods", new { payment_method = "pm_does_not_exist" })).AssertProblem(HttpStatusCode.BadRequest);
        var refused = await h.Admin.PostJsonAsync($"/api/customers/{alice}/payment-methods", new { payment_method = "pm_card_chargeDeclined" });
        refused.AssertProblem(HttpStatusCode.PaymentRequired);
        Assert.Equal("generic_decline", (string?)refused.Body["decline_code"]);
        (await h.Admin.PostJsonAsync($"/api/customers/{alice}/payment-methods", new { })).AssertProblem(HttpStatusCode.BadRequest);
    }
}
