using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;

namespace Billing.Functions.Tests.Invoices;

[Collection(AppCollection.Name)]
public sealed class InvoicesApiTests
{
    private readonly BillingApp app;
    private readonly HttpClient admin;
    private readonly BillingScenario given;

    public InvoicesApiTests(AppFixture fixture)
    {
        (app, _) = ScriptedApp.For(fixture);
        admin = app.Admin();
        given = new BillingScenario(admin);
    }

    private async Task<JsonNode> DraftAsync(string customer, long unitAmount = 2500, object? extra = null)
    {
        var body = new JsonObject
        {
            ["customer"] = customer,
            ["currency"] = "usd",
            ["items"] = new JsonArray(new JsonObject { ["description"] = "Consulting", ["unit_amount"] = unitAmount, ["quantity"] = 1 }),
        };
        if (extra is not null)
        {
            foreach (var (key, value) in JsonSerializerHelper.ToObject(extra))
            {
                body[key] = value?.DeepClone();
            }
        }

        var created = await admin.PostJsonAsync("/api/invoices", body.ToJsonString());
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Body;
    }

    [Fact]
    public async Task A_standalone_invoice_with_one_off_items_tax_and_a_coupon_has_exact_totals()
    {
        var customer = await given.CustomerAsync();
        var vat = await given.TaxRateAsync(20m);
        var coupon = await admin.PostJsonAsync("/api/coupons", new { name = "Launch", percent_off = 10, duration = "once" });
        Assert.Equal(HttpStatusCode.Created, coupon.Status);

        var created = await admin.PostJsonAsync("/api/invoices", new
        {
            customer,
            currency = "usd",
            items = new object[]
            {
                new { description = "Seats", unit_amount = 1999, quantity = 2 },
                new { description = "Setup", unit_amount = 500, quantity = 1 },
            },
            default_tax_rates = new[] { vat },
            coupon = coupon.Id(),
            description = "Onboarding",
        });

        Assert.Equal(HttpStatusCode.Created, created.Status);
        var invoice = created.Body;
        Assert.Equal("draft", (string?)invoice["status"]);
        Assert.Null(invoice["number"]);
        Assert.Equal(4498, (long)invoice["subtotal"]!);
        Assert.Equal(400 + 50, (long)invoice["total_discount"]!);   // round(3998 × 10 %) + round(500 × 10 %)
        Assert.Equal(720 + 90, (long)invoice["total_tax"]!);        // round(3598 × 20 %) + round(450 × 20 %)
        Assert.Equal(4498 - 450 + 810, (long)invoice["total"]!);
        Assert.Equal(4858, (long)invoice["amount_due"]!);
        Assert.Equal(coupon.Id(), (string?)invoice["discount"]!["coupon"]);
        Assert.Equal(1, (int)(await admin.GetJsonAsync($"/api/coupons/{coupon.Id()}")).Body["times_redeemed"]!);
        Assert.Equal([3998L, 500L], invoice["lines"]!.AsArray().Select(l => (long)l!["amount"]!));
        Assert.Equal(720, (long)invoice["lines"]![0]!["tax_amounts"]![0]!["amount"]!);
    }

    [Fact]
    public async Task Finalizing_twice_is_a_conflict_and_changes_nothing()
    {
        var customer = await given.CustomerAsync();
        var draft = await DraftAsync(customer);
        var id = (string)draft["id"]!;

        var finalized = await admin.PostJsonAsync($"/api/invoices/{id}/finalize");
        var again = await admin.PostJsonAsync($"/api/invoices/{id}/finalize");

        Assert.Equal(HttpStatusCode.OK, finalized.Status);
        Assert.Equal("open", (string?)finalized.Body["status"]);
        Assert.EndsWith("-0001", (string)finalized.Body["number"]!, StringComparison.Ordinal);
        again.AssertProblem(HttpStatusCode.Conflict);
        var read = await given.InvoiceAsync(id);
        Assert.Equal(finalized.Body["number"]!.ToJsonString(), read["number"]!.ToJsonString());
        Assert.Equal(finalized.Body["finalized_at"]!.ToJsonString(), read["finalized_at"]!.ToJsonString());
    }

    [Fact]
    public async Task Void_uncollectible_and_pay_follow_the_invoice_lifecycle()
    {
        var customer = await given.CustomerAsync();
        var voided = (string)(await DraftAsync(customer))["id"]!;
        (await admin.PostJsonAsync($"/api/invoices/{voided}/void")).AssertProblem(HttpStatusCode.Conflict); // drafts are deleted, not voided
        await admin.PostJsonAsync($"/api/invoices/{voided}/finalize");
        var v = await admin.PostJsonAsync($"/api/invoices/{voided}/void");
        Assert.Equal("void", (string?)v.Body["status"]);
        Assert.Equal(0, (long)v.Body["amount_remaining"]!);
        (await admin.PostJsonAsync($"/api/invoices/{voided}/pay")).AssertProblem(HttpStatusCode.Conflict);
        (await admin.PostJsonAsync($"/api/invoices/{voided}/mark-uncollectible")).AssertProblem(HttpStatusCode.Conflict);

        var bad = (string)(await DraftAsync(customer))["id"]!;
        await admin.PostJsonAsync($"/api/invoices/{bad}/finalize");
        var uncollectible = await admin.PostJsonAsync($"/api/invoices/{bad}/mark-uncollectible");
        Assert.Equal("uncollectible", (string?)uncollectible.Body["status"]);
        var paid = await admin.PostJsonAsync($"/api/invoices/{bad}/pay", new { paid_out_of_band = true });
        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal("paid", (string?)paid.Body["status"]);
        Assert.True((bool)paid.Body["paid_out_of_band"]!);
        (await admin.PostJsonAsync($"/api/invoices/{bad}/void")).AssertProblem(HttpStatusCode.Conflict);

        var charged = (string)(await DraftAsync(customer, 1234))["id"]!;
        await admin.PostJsonAsync($"/api/invoices/{charged}/finalize");
        var collected = await admin.PostJsonAsync($"/api/invoices/{charged}/pay");
        Assert.Equal(HttpStatusCode.OK, collected.Status);
        Assert.Equal("paid", (string?)collected.Body["status"]);
        Assert.Equal(1234, (long)collected.Body["amount_paid"]!);
        Assert.Equal("succeeded", (string?)collected.Body["payment"]!["status"]);
    }

    [Fact]
    public async Task A_declined_pay_is_a_402_with_the_decline_code_and_the_invoice_stays_open()
    {
        var customer = await given.CustomerAsync("insufficient_funds");
        var id = (string)(await DraftAsync(customer))["id"]!;
        await admin.PostJsonAsync($"/api/invoices/{id}/finalize");

        var result = await admin.PostJsonAsync($"/api/invoices/{id}/pay");

        result.AssertProblem(HttpStatusCode.PaymentRequired);
        Assert.Equal("insufficient_funds", (string?)result.Body["decline_code"]);
        var invoice = await given.InvoiceAsync(id);
        Assert.Equal("open", (string?)invoice["status"]);
        Assert.Equal("declined", (string?)invoice["payment"]!["status"]);
        Assert.Equal(1, (int)invoice["payment"]!["attempt"]!);
    }

    [Fact]
    public async Task A_credit_note_on_a_paid_invoice_is_limited_to_what_was_paid_and_credits_the_balance()
    {
        var customer = await given.CustomerAsync();
        var id = (string)(await DraftAsync(customer, 5000))["id"]!;
        await admin.PostJsonAsync($"/api/invoices/{id}/finalize");
        await admin.PostJsonAsync($"/api/invoices/{id}/pay");

        var tooMuch = await admin.PostJsonAsync("/api/credit-notes", new { invoice = id, amount = 5001 });
        Assert.Contains("amount", tooMuch.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        var note = await admin.PostJsonAsync("/api/credit-notes", new { invoice = id, amount = 1500, reason = "order_change" });

        Assert.Equal(HttpStatusCode.Created, note.Status);
        Assert.Equal("credit_balance", (string?)note.Body["outcome"]);
        var invoice = await given.InvoiceAsync(id);
        Assert.Equal($"{invoice["number"]}-CN-01", (string?)note.Body["number"]);
        Assert.Equal(1500, (long)invoice["post_payment_credit_notes_amount"]!);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetJsonAsync($"/api/credit-notes/{note.Id()}")).Status);
        var rest = await admin.PostJsonAsync("/api/credit-notes", new { invoice = id, amount = 3501 });
        rest.AssertProblem(HttpStatusCode.BadRequest);

        var next = await DraftAsync(customer, 1000);
        Assert.Equal(-1500, (long)next["starting_balance"]!);
        var finalized = await admin.PostJsonAsync($"/api/invoices/{next["id"]}/finalize");
        Assert.Equal("paid", (string?)finalized.Body["status"]);
        Assert.Equal(0, (long)finalized.Body["amount_due"]!);
        Assert.Equal(-500, (long)finalized.Body["ending_balance"]!);
    }

    [Fact]
    public async Task Lists_are_newest_first_and_filter_by_status()
    {
        var customer = await given.CustomerAsync();
        var first = (string)(await DraftAsync(customer))["id"]!;
        var second = (string)(await DraftAsync(customer))["id"]!;
        await admin.PostJsonAsync($"/api/invoices/{first}/finalize");

        var all = await admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=1");
        Assert.Equal(second, (string?)all.Body["data"]![0]!["id"]);
        Assert.True((bool)all.Body["has_more"]!);
        var page2 = await admin.GetJsonAsync($"/api/invoices?customer={customer}&starting_after={second}");
        Assert.Equal(first, (string?)page2.Body["data"]![0]!["id"]);
        var open = await admin.GetJsonAsync($"/api/invoices?customer={customer}&status=open");
        Assert.Equal([first], open.Body["data"]!.AsArray().Select(i => (string)i!["id"]!));
        var global = await admin.GetJsonAsync("/api/invoices?status=draft&limit=100");
        Assert.Contains(second, global.Body["data"]!.AsArray().Select(i => (string)i!["id"]!));
        (await admin.GetJsonAsync("/api/invoices?status=late")).AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Customer_tokens_read_their_own_invoices_and_cannot_create_or_change_any()
    {
        var owner = await given.CustomerAsync();
        var other = await given.CustomerAsync();
        var id = (string)(await DraftAsync(owner))["id"]!;
        using var ownerClient = app.WithBearer(await given.TokenAsync(owner));
        using var otherClient = app.WithBearer(await given.TokenAsync(other));

        Assert.Equal(HttpStatusCode.OK, (await ownerClient.GetJsonAsync($"/api/invoices/{id}")).Status);
        (await otherClient.GetJsonAsync($"/api/invoices/{id}")).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync($"/api/invoices/{id}/finalize")).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync("/api/invoices", new { customer = owner, currency = "usd" })).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync("/api/coupons", new { percent_off = 100, duration = "forever" })).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync("/api/credit-notes", new { invoice = id, amount = 1 })).AssertProblem(HttpStatusCode.NotFound);
    }
}
