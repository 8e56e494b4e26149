using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;

namespace Billing.Functions.Tests.Subscriptions;

/// <summary>First-invoice collection end to end: the real gateway adapter (Stripe.net) against the Stripe emulator.</summary>
[Collection(AppCollection.Name)]
public sealed class SubscriptionPaymentsTests(AppFixture fixture)
{
    [Fact]
    public async Task The_first_invoice_is_charged_to_the_default_card_once_and_the_subscription_becomes_active()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);
        var body = new { customer, items = new[] { new { price, quantity = 2 } } };

        var created = await h.Admin.PostJsonAsync("/api/subscriptions", body, "sub-visa");
        var replayed = await h.Admin.PostJsonAsync("/api/subscriptions", body, "sub-visa");

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("active", (string?)created.Body["status"]);
        Assert.Equal("succeeded", (string?)created.Body["latest_payment"]!["status"]);
        Assert.StartsWith("pi_", (string?)created.Body["latest_payment"]!["payment_id"], StringComparison.Ordinal);
        Assert.Equal(created.Body.ToJsonString(), replayed.Body.ToJsonString());
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body;
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(5000, (long)invoice["amount_paid"]!);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
        var intent = h.Emulator.GetObject((string)created.Body["latest_payment"]!["payment_id"]!)!;
        Assert.Equal(5000, (long)intent["amount_received"]!);
        Assert.Equal((string?)invoice["id"], (string?)intent["metadata"]!["billing_invoice_id"]);
    }

    [Fact]
    public async Task A_declined_card_leaves_the_subscription_incomplete_with_the_decline()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_chargeCustomerFail");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);

        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("incomplete", (string?)created.Body["status"]);
        Assert.Equal("declined", (string?)created.Body["latest_payment"]!["status"]);
        Assert.Equal("generic_decline", (string?)created.Body["latest_payment"]!["decline_code"]);
        Assert.Equal("retry_later", (string?)created.Body["latest_payment"]!["decline_class"]);
        Assert.Equal("open", (string?)(await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body["status"]);
    }

    [Fact]
    public async Task A_card_needing_3D_Secure_returns_the_client_secret_and_paying_after_authentication_settles_the_same_payment()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);

        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });

        Assert.Equal("incomplete", (string?)created.Body["status"]);
        var payment = created.Body["latest_payment"]!;
        Assert.Equal("requires_action", (string?)payment["status"]);
        Assert.Contains("_secret_", (string?)payment["client_secret"], StringComparison.Ordinal);
        var invoiceId = (string)created.Body["latest_invoice"]!;
        var waiting = await h.Admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay");
        waiting.AssertProblem(HttpStatusCode.PaymentRequired);
        Assert.Equal("authentication_required", (string?)waiting.Body["code"]);

        h.Emulator.CompleteAuthentication((string)payment["payment_id"]!);
        var paid = await h.Admin.PostJsonAsync($"/api/invoices/{invoiceId}/pay");

        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal("paid", (string?)paid.Body["status"]);
        Assert.Equal(1, (int)paid.Body["payment"]!["attempt"]!);
        Assert.Equal("active", (string?)(await h.Admin.GetJsonAsync($"/api/subscriptions/{created.Body["id"]}")).Body["status"]);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task When_the_customer_authenticates_the_stripe_webhook_pays_the_invoice_and_activates_the_subscription()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_authenticationRequired");
        var price = await new BillingScenario(h.Admin).PriceAsync(1800);
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });
        Assert.Equal("requires_action", (string?)created.Body["latest_payment"]!["status"]);

        h.Emulator.CompleteAuthentication((string)created.Body["latest_payment"]!["payment_id"]!);
        await h.DrainEventsAsync();

        var now = (await h.Admin.GetJsonAsync($"/api/subscriptions/{created.Body["id"]}")).Body;
        Assert.Equal("active", (string?)now["status"]);
        Assert.Equal("succeeded", (string?)now["latest_payment"]!["status"]);
        Assert.Equal("renewal", (string?)now["next_action"]!["kind"]);
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{created.Body["latest_invoice"]}")).Body;
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(1800, (long)invoice["amount_paid"]!);
        Assert.Equal(1, h.Emulator.Count("payment_intent"));
    }

    [Fact]
    public async Task A_customer_without_a_payment_method_stays_incomplete_without_any_charge()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);

        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });

        Assert.Equal("incomplete", (string?)created.Body["status"]);
        Assert.Equal("failed", (string?)created.Body["latest_payment"]!["status"]);
        Assert.Equal("no_payment_method", (string?)created.Body["latest_payment"]!["decline_code"]);
    }
}
