using System.Net;
using System.Text.Json.Nodes;
using Billing.Domain.Scheduling;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Subscriptions;

[Collection(AppCollection.Name)]
public sealed class SubscriptionsApiTests
{
    private readonly BillingApp app;
    private readonly ScriptedCollector collector;
    private readonly HttpClient admin;
    private readonly BillingScenario given;

    public SubscriptionsApiTests(AppFixture fixture)
    {
        (app, collector) = ScriptedApp.For(fixture);
        admin = app.Admin();
        given = new BillingScenario(admin);
    }

    [Fact]
    public async Task A_trial_starts_trialing_with_no_invoice_and_schedules_the_trial_notice()
    {
        var price = await given.PriceAsync(1200, trialDays: 14);
        var customer = await given.CustomerAsync();

        var sub = await given.SubscribeAsync(customer, price);

        Assert.Equal("trialing", (string?)sub["status"]);
        Assert.Null(sub["latest_invoice"]);
        var trialEnd = (DateTimeOffset)sub["trial_end"]!;
        Assert.Equal(trialEnd, (DateTimeOffset)sub["next_renewal_at"]!);
        Assert.Equal(trialEnd, (DateTimeOffset)sub["current_period_end"]!);
        Assert.Equal("trial_will_end", (string?)sub["next_action"]!["kind"]);
        var invoices = await admin.GetJsonAsync($"/api/invoices?customer={customer}");
        Assert.Empty(invoices.Body["data"]!.AsArray());
        var work = await app.Services.GetRequiredService<IScheduleStore>().ListForCustomerAsync(customer);
        var notice = Assert.Single(work);
        Assert.Equal(("trial_will_end", (string)sub["id"]!, (long)sub["version"]!), (notice.Kind, notice.TargetId, notice.ExpectedVersion));
        Assert.Equal(trialEnd.AddDays(-3), notice.DueAt);
    }

    [Fact]
    public async Task Without_a_trial_the_first_invoice_is_finalized_numbered_and_paid_and_the_subscription_is_active()
    {
        var price = await given.PriceAsync(1200);
        var customer = await given.CustomerAsync();
        var prefix = (string)(await admin.GetJsonAsync($"/api/customers/{customer}")).Body["invoice_prefix"]!;

        var sub = await given.SubscribeAsync(customer, price, quantity: 3);

        Assert.Equal("active", (string?)sub["status"]);
        Assert.Equal("succeeded", (string?)sub["latest_payment"]!["status"]);
        var invoice = await given.InvoiceAsync((string)sub["latest_invoice"]!);
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(prefix + "-0001", (string?)invoice["number"]);
        Assert.Equal("subscription_create", (string?)invoice["billing_reason"]);
        Assert.Equal(3600, (long)invoice["total"]!);
        Assert.Equal(3600, (long)invoice["amount_paid"]!);
        Assert.Equal(0, (long)invoice["amount_remaining"]!);
        Assert.Equal("usd", (string?)invoice["currency"]);
        var line = invoice["lines"]![0]!;
        Assert.Equal((string?)sub["current_period_start"], (string?)line["period"]!["start"]);
        Assert.Equal((string?)sub["current_period_end"], (string?)line["period"]!["end"]);
        Assert.False((bool)line["proration"]!);
        Assert.Equal((DateTimeOffset)sub["current_period_end"]!, (DateTimeOffset)sub["next_renewal_at"]!);
        Assert.Equal("renewal", (string?)sub["next_action"]!["kind"]);
        Assert.Single(collector.Charges.Keys, k => k.StartsWith((string)invoice["id"]! + ":attempt:1", StringComparison.Ordinal));
        var work = await app.Services.GetRequiredService<IScheduleStore>().ListForCustomerAsync(customer);
        Assert.Contains(work, w => w.Kind == "renewal" && w.ExpectedVersion == (long)sub["version"]! && w.DueAt == (DateTimeOffset)sub["current_period_end"]!);
    }

    [Fact]
    public async Task A_customer_on_a_test_clock_is_billed_at_the_clock_time_and_its_renewal_waits_on_the_clock()
    {
        var frozen = new DateTimeOffset(2026, 1, 31, 9, 0, 0, TimeSpan.Zero);
        var clock = await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = frozen });
        Assert.Equal(HttpStatusCode.Created, clock.Status);
        var customer = await admin.CreateCustomerAsync(new { name = "Clocked", test_clock = clock.Id() });
        var price = await given.PriceAsync(1000);

        var sub = await given.SubscribeAsync(customer, price);

        Assert.Equal("active", (string?)sub["status"]);
        Assert.Equal(frozen, (DateTimeOffset)sub["current_period_start"]!);
        Assert.Equal(new DateTimeOffset(2026, 2, 28, 9, 0, 0, TimeSpan.Zero), (DateTimeOffset)sub["current_period_end"]!);
        Assert.Equal(frozen, (DateTimeOffset)(await given.InvoiceAsync((string)sub["latest_invoice"]!))["finalized_at"]!);
        var work = await app.Services.GetRequiredService<IScheduleStore>().ListForCustomerAsync(customer);
        var renewal = Assert.Single(work);
        Assert.Equal(("renewal", clock.Id()), (renewal.Kind, renewal.ClockId));
    }

    [Fact]
    public async Task A_declined_first_payment_leaves_the_subscription_incomplete_with_the_decline_visible_and_expiry_scheduled()
    {
        var price = await given.PriceAsync(1500);
        var customer = await given.CustomerAsync("declined");

        var sub = await given.SubscribeAsync(customer, price);

        Assert.Equal("incomplete", (string?)sub["status"]);
        Assert.Equal("declined", (string?)sub["latest_payment"]!["status"]);
        Assert.Equal("generic_decline", (string?)sub["latest_payment"]!["decline_code"]);
        Assert.Equal("never_retry", (string?)sub["latest_payment"]!["decline_class"]);
        var invoice = await given.InvoiceAsync((string)sub["latest_invoice"]!);
        Assert.Equal("open", (string?)invoice["status"]);
        Assert.NotNull((string?)invoice["number"]);
        Assert.Equal("incomplete_expiry", (string?)sub["next_action"]!["kind"]);
        Assert.Equal(((DateTimeOffset)sub["created"]!).AddHours(23), (DateTimeOffset)sub["next_action"]!["at"]!);
        var work = await app.Services.GetRequiredService<IScheduleStore>().ListForCustomerAsync(customer);
        Assert.Contains(work, w => w.Kind == "incomplete_expiry" && w.TargetId == (string)sub["id"]!);
    }

    [Fact]
    public async Task Merchant_events_are_raised_once_for_each_billing_fact()
    {
        var price = await given.PriceAsync(1100);
        var customer = await given.CustomerAsync("declined");
        var sub = await given.SubscribeAsync(customer, price);
        var invoice = (string)sub["latest_invoice"]!;
        await admin.PostJsonAsync($"/api/invoices/{invoice}/pay", new { paid_out_of_band = true });

        async Task<int> CountAsync(string type, string id)
        {
            var events = await admin.GetJsonAsync($"/api/events?type={type}&limit=100");
            Assert.Equal(HttpStatusCode.OK, events.Status);
            return events.Body["data"]!.AsArray().Count(e => (string?)e!["data"]!["id"] == id && (string?)e["customer"] == customer);
        }

        Assert.Equal(1, await CountAsync("customer.subscription.created", (string)sub["id"]!));
        Assert.Equal(1, await CountAsync("invoice.created", invoice));
        Assert.Equal(1, await CountAsync("invoice.finalized", invoice));
        Assert.Equal(1, await CountAsync("invoice.payment_failed", invoice));
        Assert.Equal(1, await CountAsync("invoice.paid", invoice));
        Assert.Equal(1, await CountAsync("customer.subscription.updated", (string)sub["id"]!));
    }

    [Fact]
    public async Task A_payment_needing_authentication_returns_the_client_secret()
    {
        var price = await given.PriceAsync(1500);
        var customer = await given.CustomerAsync("authentication_required");

        var sub = await given.SubscribeAsync(customer, price);

        Assert.Equal("incomplete", (string?)sub["status"]);
        Assert.Equal("requires_action", (string?)sub["latest_payment"]!["status"]);
        Assert.Equal($"pi_{sub["latest_invoice"]}_secret_1", (string?)sub["latest_payment"]!["client_secret"]);
    }

    [Fact]
    public async Task A_retry_after_a_gateway_timeout_resumes_the_same_subscription_without_a_second_invoice_or_charge()
    {
        var price = await given.PriceAsync(990);
        var customer = await given.CustomerAsync("timeout_once");
        var body = new JsonObject { ["customer"] = customer, ["items"] = new JsonArray(new JsonObject { ["price"] = price }) }.ToJsonString();

        var first = await admin.PostJsonAsync("/api/subscriptions", body, "create-sub-timeout");
        Assert.Equal(HttpStatusCode.InternalServerError, first.Status);
        var retry = await admin.PostJsonAsync("/api/subscriptions", body, "create-sub-timeout");

        Assert.Equal(HttpStatusCode.Created, retry.Status);
        Assert.Equal("active", (string?)retry.Body["status"]);
        var subs = await admin.GetJsonAsync($"/api/subscriptions?customer={customer}");
        Assert.Single(subs.Body["data"]!.AsArray());
        var invoices = await admin.GetJsonAsync($"/api/invoices?customer={customer}");
        var invoice = Assert.Single(invoices.Body["data"]!.AsArray())!;
        Assert.Equal("paid", (string?)invoice["status"]);
        var key = $"{invoice["id"]}:attempt:1";
        Assert.Equal(2, collector.CallsFor(key));
        Assert.Single(collector.Charges.Keys, k => k.StartsWith((string)invoice["id"]!, StringComparison.Ordinal));
        Assert.Equal(1, (int)retry.Body["latest_payment"]!["attempt"]!);
    }

    [Fact]
    public async Task A_deleted_customer_cannot_subscribe()
    {
        var price = await given.PriceAsync(1000);
        var customer = await given.CustomerAsync();
        await admin.DeleteJsonAsync($"/api/customers/{customer}");

        var result = await admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price } } });

        result.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("customer_deleted", (string?)result.Body["code"]);
    }

    [Fact]
    public async Task Invalid_requests_are_field_level_problems()
    {
        var usd = await given.PriceAsync(1000);
        var eur = await given.PriceAsync(1000, currency: "eur");
        var archived = await given.PriceAsync(1000);
        await admin.PostJsonAsync($"/api/prices/{archived}/archive");
        var customer = await given.CustomerAsync();

        var unknown = await admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price = "price_01JD000000000000000000000" } } });
        Assert.Contains("items[0].price", unknown.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        var old = await admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price = archived } } });
        Assert.Contains("archived", old.AssertProblem(HttpStatusCode.BadRequest)["items[0].price"]![0]!.ToString(), StringComparison.Ordinal);
        var mixed = await admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price = usd }, new { price = eur } } });
        Assert.Contains("items", mixed.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        var zero = await admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price = usd, quantity = 0 } } });
        Assert.Contains("items[0].quantity", zero.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        var noCustomer = await admin.PostJsonAsync("/api/subscriptions", new { customer = "cus_01JD000000000000000000000", items = new[] { new { price = usd } } });
        Assert.Contains("customer", noCustomer.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));

        var sub = await given.SubscribeAsync(customer, usd);
        var badBehavior = await admin.PatchJsonAsync($"/api/subscriptions/{sub["id"]}", new { items = new[] { new { id = (string)sub["items"]![0]!["id"]!, quantity = 2 } }, proration_behavior = "sometimes" });
        badBehavior.AssertProblem(HttpStatusCode.BadRequest);
        var unknownField = await admin.PatchJsonAsync($"/api/subscriptions/{sub["id"]}", new { colour = "blue" });
        unknownField.AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_upgrade_with_create_prorations_makes_exact_pending_items_that_match_the_preview_and_the_next_invoice()
    {
        var basic = await given.PriceAsync(1000, productName: "Basic");
        var pro = await given.PriceAsync(3000, productName: "Pro");
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, basic);
        var id = (string)sub["id"]!;
        var start = (DateTimeOffset)sub["current_period_start"]!;
        var end = (DateTimeOffset)sub["current_period_end"]!;
        var at = DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() + 7);
        var change = new { items = new[] { new { id = (string)sub["items"]![0]!["id"]!, price = pro } }, proration_behavior = "create_prorations", proration_date = at };
        var remaining = end.ToUnixTimeSeconds() - at.ToUnixTimeSeconds();
        var period = end.ToUnixTimeSeconds() - start.ToUnixTimeSeconds();
        var credit = -BillingScenario.Prorate(1000, remaining, period);
        var charge = BillingScenario.Prorate(3000, remaining, period);

        var preview = await admin.PostJsonAsync($"/api/subscriptions/{id}/preview", change);
        Assert.Equal(HttpStatusCode.OK, preview.Status);
        Assert.Equal([credit, charge], preview.Body["lines"]!.AsArray().Select(l => (long)l!["amount"]!));
        Assert.Equal(credit + charge, (long)preview.Body["total"]!);
        Assert.Equal(1, (int)(await admin.GetJsonAsync($"/api/subscriptions/{id}")).Body["items"]!.AsArray().Count);

        var patched = await admin.PatchJsonAsync($"/api/subscriptions/{id}", change);
        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal(pro, (string?)patched.Body["items"]![0]!["price"]!["id"]);
        Assert.Equal((string?)sub["latest_invoice"], (string?)patched.Body["latest_invoice"]);

        var next = await admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd" });
        Assert.Equal(HttpStatusCode.Created, next.Status);
        var lines = next.Body["lines"]!.AsArray();
        Assert.Equal([credit, charge], lines.Select(l => (long)l!["amount"]!));
        Assert.All(lines, l => Assert.True((bool)l!["proration"]!));
        Assert.All(lines, l => Assert.Equal(at, (DateTimeOffset)l!["period"]!["start"]!));
        Assert.Equal(preview.Body["total"]!.ToJsonString(), next.Body["total"]!.ToJsonString());
        var again = await admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd" });
        again.AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_upgrade_with_always_invoice_bills_and_collects_the_prorations_at_once()
    {
        var price = await given.PriceAsync(2000);
        var vat = await given.TaxRateAsync(20m);
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, price, extra: new { default_tax_rates = new[] { vat } });
        var id = (string)sub["id"]!;
        var start = (DateTimeOffset)sub["current_period_start"]!;
        var end = (DateTimeOffset)sub["current_period_end"]!;
        var at = DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() + 3);
        var change = new { items = new[] { new { id = (string)sub["items"]![0]!["id"]!, quantity = 3 } }, proration_behavior = "always_invoice", proration_date = at };
        var preview = await admin.PostJsonAsync($"/api/subscriptions/{id}/preview", change);

        var patched = await admin.PatchJsonAsync($"/api/subscriptions/{id}", change);

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.NotEqual((string?)sub["latest_invoice"], (string?)patched.Body["latest_invoice"]);
        var invoice = await given.InvoiceAsync((string)patched.Body["latest_invoice"]!);
        var remaining = end.ToUnixTimeSeconds() - at.ToUnixTimeSeconds();
        var period = end.ToUnixTimeSeconds() - start.ToUnixTimeSeconds();
        var net = BillingScenario.Prorate(6000, remaining, period) - BillingScenario.Prorate(2000, remaining, period);
        Assert.Equal("subscription_update", (string?)invoice["billing_reason"]);
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(net, (long)invoice["subtotal"]!);
        Assert.Equal((long)preview.Body["total"]!, (long)invoice["total"]!);
        Assert.Equal((long)preview.Body["total_tax"]!, (long)invoice["total_tax"]!);
        Assert.EndsWith("-0002", (string)invoice["number"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_at_period_end_can_be_undone_and_every_change_is_in_the_history()
    {
        var price = await given.PriceAsync(1000);
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, price);
        var id = (string)sub["id"]!;

        var canceling = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { cancel_at_period_end = true, metadata = new Dictionary<string, string> { ["reason"] = "too expensive" } });
        Assert.True((bool)canceling.Body["cancel_at_period_end"]!);
        Assert.Equal((string?)sub["current_period_end"], (string?)canceling.Body["cancel_at"]);
        Assert.Null(canceling.Body["next_renewal_at"]);
        Assert.Equal("too expensive", (string?)canceling.Body["metadata"]!["reason"]);
        var undone = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { cancel_at_period_end = false });
        Assert.False((bool)undone.Body["cancel_at_period_end"]!);
        Assert.Equal((string?)sub["current_period_end"], (string?)undone.Body["next_renewal_at"]);

        var history = await admin.GetJsonAsync($"/api/subscriptions/{id}/history");
        var actions = history.Body["data"]!.AsArray().Select(h => (string)h!["action"]!).ToList();
        Assert.Equal(["undo_cancel_at_period_end", "update_metadata", "cancel_at_period_end", "payment_succeeded", "invoice_created", "create"], actions);
        var cancel = history.Body["data"]![2]!;
        Assert.Equal("key:test-admin", (string?)cancel["actor"]);
        Assert.Equal("true", (string?)cancel["changes"]!["cancel_at_period_end"]!["after"]);
    }

    [Fact]
    public async Task Cancel_now_with_proration_credits_the_unused_time_to_the_customer_balance()
    {
        var price = await given.PriceAsync(3100);
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, price);
        var id = (string)sub["id"]!;

        var canceled = await admin.PostJsonAsync($"/api/subscriptions/{id}/cancel", new { prorate = true, invoice_now = true });

        Assert.Equal(HttpStatusCode.OK, canceled.Status);
        Assert.Equal("canceled", (string?)canceled.Body["status"]);
        Assert.Null(canceled.Body["next_action"]);
        var endedAt = (DateTimeOffset)canceled.Body["ended_at"]!;
        var start = (DateTimeOffset)sub["current_period_start"]!;
        var end = (DateTimeOffset)sub["current_period_end"]!;
        var credit = -BillingScenario.Prorate(3100, end.ToUnixTimeSeconds() - endedAt.ToUnixTimeSeconds(), end.ToUnixTimeSeconds() - start.ToUnixTimeSeconds());
        var invoice = await given.InvoiceAsync((string)canceled.Body["latest_invoice"]!);
        Assert.Equal(credit, (long)invoice["total"]!);
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(0, (long)invoice["amount_due"]!);
        Assert.Equal(credit, (long)invoice["ending_balance"]!);
        var repeat = await admin.PostJsonAsync($"/api/subscriptions/{id}/cancel", new { });
        repeat.AssertProblem(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_coupon_is_redeemed_once_per_subscription_and_a_refused_change_redeems_nothing()
    {
        var price = await given.PriceAsync(1000);
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, price);
        var id = (string)sub["id"]!;
        var ten = (await admin.PostJsonAsync("/api/coupons", new { percent_off = 10, duration = "forever" })).Id();
        var twenty = (await admin.PostJsonAsync("/api/coupons", new { percent_off = 20, duration = "forever" })).Id();
        async Task<int> Redeemed(string coupon) => (int)(await admin.GetJsonAsync($"/api/coupons/{coupon}")).Body["times_redeemed"]!;

        var applied = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { coupon = ten });
        var again = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { coupon = ten });
        var refused = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { coupon = twenty, items = new[] { new { id = "si_01ZZZZZZZZZZZZZZZZZZZZZZZZ", quantity = 2 } } }); // refused by the subscription itself
        var replaced = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { coupon = twenty });
        var back = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { coupon = ten });

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK), (applied.Status, again.Status, replaced.Status));
        Assert.Equal(applied.Body["discount"]!.ToJsonString(), again.Body["discount"]!.ToJsonString()); // the coupon it has: no change
        refused.AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(twenty, (string?)replaced.Body["discount"]!["coupon"]);
        back.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("coupon_already_redeemed", (string?)back.Body["code"]);
        Assert.Equal((1, 1), (await Redeemed(ten), await Redeemed(twenty))); // the refused change counted nothing
        var history = (await admin.GetJsonAsync($"/api/subscriptions/{id}/history")).Body["data"]!.AsArray().Select(h => (string)h!["action"]!);
        Assert.Equal(2, history.Count(a => a == "apply_discount"));
    }

    [Fact]
    public async Task Collection_can_be_paused_and_resumed()
    {
        var price = await given.PriceAsync(1000);
        var customer = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(customer, price);
        var id = (string)sub["id"]!;
        var resumesAt = DateTimeOffset.UtcNow.AddDays(3);

        var paused = await admin.PatchJsonAsync($"/api/subscriptions/{id}", new { pause_collection = new { behavior = "keep_as_draft", resumes_at = resumesAt } });
        Assert.Equal(HttpStatusCode.OK, paused.Status);
        Assert.Equal("keep_as_draft", (string?)paused.Body["pause_collection"]!["behavior"]);
        Assert.Equal("resume_collection", (string?)paused.Body["next_action"]!["kind"]);

        var resumed = await admin.PostJsonAsync($"/api/subscriptions/{id}/resume");
        Assert.Equal(HttpStatusCode.OK, resumed.Status);
        Assert.Null(resumed.Body["pause_collection"]);
        Assert.Equal("renewal", (string?)resumed.Body["next_action"]!["kind"]);
        var again = await admin.PostJsonAsync($"/api/subscriptions/{id}/resume");
        Assert.Equal("subscription_not_paused", (string?)again.Body["code"]);
        again.AssertProblem(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Customer_tokens_read_their_own_subscriptions_only_and_cannot_change_them()
    {
        var price = await given.PriceAsync(1000);
        var owner = await given.CustomerAsync();
        var other = await given.CustomerAsync();
        var sub = await given.SubscribeAsync(owner, price);
        var id = (string)sub["id"]!;
        using var ownerClient = app.WithBearer(await given.TokenAsync(owner));
        using var otherClient = app.WithBearer(await given.TokenAsync(other));

        Assert.Equal(HttpStatusCode.OK, (await ownerClient.GetJsonAsync($"/api/subscriptions/{id}")).Status);
        var listed = await ownerClient.GetJsonAsync("/api/subscriptions");
        Assert.All(listed.Body["data"]!.AsArray(), s => Assert.Equal(owner, (string?)s!["customer"]));
        (await otherClient.GetJsonAsync($"/api/subscriptions/{id}")).AssertProblem(HttpStatusCode.NotFound);
        (await otherClient.GetJsonAsync($"/api/subscriptions?customer={owner}")).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PatchJsonAsync($"/api/subscriptions/{id}", new { cancel_at_period_end = true })).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync($"/api/subscriptions/{id}/cancel")).AssertProblem(HttpStatusCode.NotFound);
        (await ownerClient.PostJsonAsync("/api/subscriptions", new { customer = owner, items = new[] { new { price } } })).AssertProblem(HttpStatusCode.NotFound);
    }
}
