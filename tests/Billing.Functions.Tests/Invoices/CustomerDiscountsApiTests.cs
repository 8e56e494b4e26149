using System.Net;
using System.Text.Json.Nodes;
using Billing.Domain.Invoicing;
using Billing.Functions.Invoices;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Invoices;

/// <summary>Coupons applied to customers through the API: what the customer shows, which invoices they reduce, and exact redemption counts.</summary>
[Collection(AppCollection.Name)]
public sealed class CustomerDiscountsApiTests(AppFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 1, 31, 9, 0, 0, TimeSpan.Zero);
    private readonly BillingApp app = ScriptedApp.For(fixture).App;

    private HttpClient Admin => app.Admin();

    private BillingScenario Given => new(Admin);

    private async Task<string> CouponAsync(object body)
    {
        var created = await Admin.PostJsonAsync("/api/coupons", body);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Id();
    }

    private async Task<int> TimesRedeemedAsync(string coupon, HttpClient? client = null) =>
        (int)(await (client ?? Admin).GetJsonAsync($"/api/coupons/{coupon}")).Body["times_redeemed"]!;

    private static async Task<JsonNode> CustomerAsync(HttpClient client, string id)
    {
        var read = await client.GetJsonAsync($"/api/customers/{id}");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        return read.Body;
    }

    private static async Task<IReadOnlyList<CouponRedemption>> RedemptionsAsync(BillingApp app, string coupon) =>
        (await app.Services.GetRequiredService<TableInvoicingStore>().Table
            .ListAsync<CouponRedemption>(TableInvoicingStore.CouponPartition, $"redemption|{coupon}|", null, 100)).Data;

    [Fact]
    public async Task A_coupon_applied_to_a_customer_shows_as_its_discount_counts_one_redemption_and_is_removed_by_delete()
    {
        var customer = await Given.CustomerAsync();
        var coupon = await CouponAsync(new { name = "Spring", percent_off = 20, duration = "repeating", duration_in_months = 3 });
        var before = DateTimeOffset.UtcNow;

        var applied = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon });

        Assert.Equal(HttpStatusCode.OK, applied.Status);
        var discount = applied.Body["discount"]!;
        Assert.Equal(coupon, (string?)discount["coupon"]);
        Assert.Equal(20m, (decimal)discount["percent_off"]!);
        Assert.Equal("repeating", (string?)discount["duration"]);
        var start = (DateTimeOffset)discount["start"]!;
        Assert.InRange(start, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(Domain.Subscriptions.BillingPeriods.AddMonthsClamped(start, 3), (DateTimeOffset)discount["end"]!);
        Assert.Equal(1, await TimesRedeemedAsync(coupon));
        using var owner = app.WithBearer(await Given.TokenAsync(customer));
        Assert.Equal(discount.ToJsonString(), (await CustomerAsync(owner, customer))["discount"]!.ToJsonString()); // the customer sees its discount

        var again = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon });
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(discount.ToJsonString(), again.Body["discount"]!.ToJsonString()); // the coupon it has: no change, no second redemption
        Assert.Equal(1, await TimesRedeemedAsync(coupon));

        var removed = await Admin.DeleteJsonAsync($"/api/customers/{customer}/discount");
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Null(removed.Body["discount"]);
        Assert.Null((await CustomerAsync(Admin, customer))["discount"]);
        (await Admin.DeleteJsonAsync($"/api/customers/{customer}/discount")).AssertProblem(HttpStatusCode.NotFound);
        var reapplied = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon });
        reapplied.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("coupon_already_redeemed", (string?)reapplied.Body["code"]);
        Assert.Equal(1, await TimesRedeemedAsync(coupon)); // a removed discount stays redeemed, as in Stripe

        var events = (await Admin.GetJsonAsync("/api/events?type=customer.discount.created&limit=100")).Body["data"]!.AsArray();
        Assert.Single(events, e => (string?)e!["customer"] == customer);
        var deleted = (await Admin.GetJsonAsync("/api/events?type=customer.discount.deleted&limit=100")).Body["data"]!.AsArray();
        Assert.Single(deleted, e => (string?)e!["customer"] == customer);
    }

    [Fact]
    public async Task Applying_another_coupon_replaces_the_discount_and_bad_requests_change_nothing()
    {
        var customer = await Given.CustomerAsync();
        var other = await Given.CustomerAsync();
        var first = await CouponAsync(new { percent_off = 10, duration = "forever" });
        var second = await CouponAsync(new { amount_off = 500, currency = "usd", duration = "once" });
        var single = await CouponAsync(new { percent_off = 50, duration = "once", max_redemptions = 1 });
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = first })).Status);
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostJsonAsync($"/api/customers/{other}/discount", new { coupon = single })).Status);
        var state = (await CustomerAsync(Admin, customer)).ToJsonString();

        Assert.Contains("coupon", (await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { })).AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        Assert.Contains("coupon", (await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = "NO_SUCH_COUPON" })).AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        (await Admin.PostJsonAsync($"/api/customers/{customer}/discount", "{\"coupon\":42}")).AssertProblem(HttpStatusCode.BadRequest);
        var expired = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = single });
        expired.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("coupon_expired", (string?)expired.Body["code"]);
        (await Admin.PostJsonAsync("/api/customers/cus_01ZZZZZZZZZZZZZZZZZZZZZZZZ/discount", new { coupon = second })).AssertProblem(HttpStatusCode.NotFound);
        (await Admin.DeleteJsonAsync("/api/customers/cus_01ZZZZZZZZZZZZZZZZZZZZZZZZ/discount")).AssertProblem(HttpStatusCode.NotFound);
        using var ownerToken = app.WithBearer(await Given.TokenAsync(customer));
        using var otherToken = app.WithBearer(await Given.TokenAsync(other));
        (await ownerToken.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = second })).AssertProblem(HttpStatusCode.NotFound); // customers never grant themselves discounts
        (await otherToken.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = second })).AssertProblem(HttpStatusCode.NotFound);
        (await otherToken.DeleteJsonAsync($"/api/customers/{customer}/discount")).AssertProblem(HttpStatusCode.NotFound);
        (await ownerToken.PatchJsonAsync($"/api/customers/{customer}", new { coupon = second })).AssertProblem(HttpStatusCode.BadRequest); // not a profile field

        Assert.Equal(state, (await CustomerAsync(Admin, customer)).ToJsonString());
        Assert.Equal((1, 0, 1), (await TimesRedeemedAsync(first), await TimesRedeemedAsync(second), await TimesRedeemedAsync(single)));

        var replaced = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = second });
        Assert.Equal(HttpStatusCode.OK, replaced.Status);
        Assert.Equal((second, 500L, "usd"), ((string?)replaced.Body["discount"]!["coupon"], (long)replaced.Body["discount"]!["amount_off"]!, (string?)replaced.Body["discount"]!["currency"]));
        Assert.Equal(1, await TimesRedeemedAsync(second));

        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteJsonAsync($"/api/customers/{customer}")).Status);
        var onDeleted = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = first });
        onDeleted.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("customer_deleted", (string?)onDeleted.Body["code"]);
    }

    [Fact]
    public async Task The_customer_discount_reduces_standalone_invoices_that_have_no_coupon_of_their_own()
    {
        var customer = await Given.CustomerAsync();
        var loyalty = await CouponAsync(new { percent_off = 12.5, duration = "forever" });
        var launch = await CouponAsync(new { amount_off = 1000, currency = "usd", duration = "once" });
        await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = loyalty });
        var items = new object[] { new { description = "Seats", unit_amount = 1999, quantity = 2 }, new { description = "Setup", unit_amount = 501, quantity = 1 } };

        var plain = await Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items });
        var ownCoupon = await Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items, coupon = launch });
        var euros = await Admin.PostJsonAsync("/api/invoices", new { customer, currency = "eur", items });

        Assert.Equal(loyalty, (string?)plain.Body["discount"]!["coupon"]);
        Assert.Equal([500L, 63], plain.Body["lines"]!.AsArray().Select(l => (long)l!["discount_amounts"]![0]!["amount"]!)); // 3998 × 12.5 % = 499.75 → 500; 501 → 62.625 → 63
        Assert.Equal((4499L, 563L, 3936L), ((long)plain.Body["subtotal"]!, (long)plain.Body["total_discount"]!, (long)plain.Body["total"]!));
        Assert.Equal(launch, (string?)ownCoupon.Body["discount"]!["coupon"]); // the invoice's own coupon wins
        Assert.Equal([889L, 111], ownCoupon.Body["lines"]!.AsArray().Select(l => (long)l!["discount_amounts"]![0]!["amount"]!)); // 1000 split 3998 : 501
        Assert.Equal(3499, (long)ownCoupon.Body["total"]!);
        Assert.Equal(loyalty, (string?)euros.Body["discount"]!["coupon"]); // percent_off applies in any currency
        Assert.Equal(3936, (long)euros.Body["total"]!);
        Assert.Equal((1, 1), (await TimesRedeemedAsync(loyalty), await TimesRedeemedAsync(launch))); // redeemed once by the customer, not per invoice
    }

    [Fact]
    public async Task A_3_month_repeating_customer_coupon_reduces_exactly_3_renewals_and_a_subscription_coupon_wins_over_it()
    {
        var clock = await Admin.PostJsonAsync("/api/test-clocks", new { frozen_time = Start });
        var customer = await Admin.CreateCustomerAsync(new { name = "Renewals", test_clock = clock.Id() });
        var pro = await Given.PriceAsync(1999);
        var addon = await Given.PriceAsync(1000, productName: "Add-on");
        var vat = await Given.TaxRateAsync(20m);
        var main = (string)(await Given.SubscribeAsync(customer, pro, extra: new { default_tax_rates = new[] { vat } }))["id"]!;
        await AdvanceAsync(clock.Id(), Start.AddDays(5));
        var customerCoupon = await CouponAsync(new { id = "REP3-" + Guid.NewGuid().ToString("N")[..8], percent_off = 12.5, duration = "repeating", duration_in_months = 3 });
        var subscriptionCoupon = await CouponAsync(new { percent_off = 10, duration = "forever" });

        var applied = await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = customerCoupon });
        var second = (string)(await Given.SubscribeAsync(customer, addon, extra: new { coupon = subscriptionCoupon }))["id"]!;
        await AdvanceAsync(clock.Id(), new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(Start.AddDays(5), (DateTimeOffset)applied.Body["discount"]!["start"]!); // the customer's clock
        Assert.Equal(new DateTimeOffset(2026, 5, 5, 9, 0, 0, TimeSpan.Zero), (DateTimeOffset)applied.Body["discount"]!["end"]!);
        var invoices = (await Admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=100")).Body["data"]!.AsArray().Reverse().ToList();
        var mainInvoices = invoices.Where(i => (string?)i!["subscription"] == main).ToList();
        var secondInvoices = invoices.Where(i => (string?)i!["subscription"] == second).ToList();
        Assert.Equal([Start, new(2026, 2, 28, 9, 0, 0, TimeSpan.Zero), new(2026, 3, 31, 9, 0, 0, TimeSpan.Zero), new(2026, 4, 30, 9, 0, 0, TimeSpan.Zero),
            new(2026, 5, 31, 9, 0, 0, TimeSpan.Zero), new(2026, 6, 30, 9, 0, 0, TimeSpan.Zero)], mainInvoices.Select(i => (DateTimeOffset)i!["period"]!["start"]!));
        Assert.Equal([null, customerCoupon, customerCoupon, customerCoupon, null, null], mainInvoices.Select(i => (string?)i!["discount"]?["coupon"]));
        Assert.Equal([0L, 250, 250, 250, 0, 0], mainInvoices.Select(i => (long)i!["total_discount"]!)); // 1999 × 12.5 % = 249.875 → 250
        Assert.Equal([2399L, 2099, 2099, 2099, 2399, 2399], mainInvoices.Select(i => (long)i!["total"]!)); // + 20 % VAT on what is left
        Assert.Equal(5, secondInvoices.Count); // Feb 5 … Jun 5
        Assert.All(secondInvoices, i => Assert.Equal((subscriptionCoupon, 100L, 900L), ((string?)i!["discount"]!["coupon"], (long)i["total_discount"]!, (long)i["total"]!)));
        Assert.All(invoices, i => Assert.Equal("paid", (string?)i!["status"]));
        Assert.Equal((1, 1), (await TimesRedeemedAsync(customerCoupon), await TimesRedeemedAsync(subscriptionCoupon)));
    }

    [Fact]
    public async Task Twenty_parallel_applications_on_two_instances_of_a_coupon_with_max_redemptions_5_redeem_it_exactly_5_times()
    {
        var settings = new Dictionary<string, string?> { ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("rdm") };
        var collector = new ScriptedCollector();
        await using var first = BillingScenario.CreateApp(fixture, collector, settings);
        await using var second = BillingScenario.CreateApp(fixture, collector, settings);
        var admin = first.Admin();
        var customers = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            customers.Add(await admin.CreateCustomerAsync(new { name = $"Racer {i}" }));
        }

        var created = await admin.PostJsonAsync("/api/coupons", new { name = "First five", percent_off = 30, duration = "once", max_redemptions = 5 });
        var coupon = created.Id();
        var clients = new[] { first.Admin(), second.Admin() };

        var answers = await Task.WhenAll(customers.Select((customer, i) => Task.Run(() => clients[i % 2].PostJsonAsync($"/api/customers/{customer}/discount", new { coupon }))));

        Assert.Equal(5, answers.Count(a => a.Status == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a =>
        {
            a.AssertProblem(HttpStatusCode.Conflict);
            Assert.Equal("coupon_expired", (string?)a.Body["code"]);
        });
        Assert.Equal(5, await TimesRedeemedAsync(coupon, admin));
        var holders = new List<string>();
        foreach (var customer in customers)
        {
            if ((await CustomerAsync(admin, customer))["discount"] is { } discount)
            {
                Assert.Equal(coupon, (string?)discount["coupon"]);
                holders.Add(customer);
            }
        }

        Assert.Equal(answers.Select((a, i) => (a, i)).Where(x => x.a.Status == HttpStatusCode.OK).Select(x => customers[x.i]).Order(StringComparer.Ordinal), holders.Order(StringComparer.Ordinal));
        var rows = await RedemptionsAsync(first, coupon);
        Assert.Equal(holders.Order(StringComparer.Ordinal), rows.Select(r => r.TargetId).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(RedemptionStatus.Applied, r.Status));
    }

    [Fact]
    public async Task Duplicate_applications_of_one_coupon_to_one_customer_in_parallel_redeem_it_once()
    {
        var customer = await Given.CustomerAsync();
        var coupon = await CouponAsync(new { percent_off = 15, duration = "forever" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon }))));

        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.OK, a.Body.ToJsonString()));
        Assert.Single(answers.Select(a => (string)a.Body["discount"]!["id"]!).Distinct());
        Assert.Equal(1, await TimesRedeemedAsync(coupon));
        Assert.Equal([customer], (await RedemptionsAsync(app, coupon)).Select(r => r.TargetId));
    }

    [Fact]
    public async Task A_reservation_whose_request_stopped_is_given_back_by_due_work_and_one_saved_on_its_target_is_kept()
    {
        await using var isolated = BillingScenario.CreateApp(fixture, new ScriptedCollector(), new Dictionary<string, string?> { ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("stl") });
        var admin = isolated.Admin();
        var redemptions = isolated.Services.GetRequiredService<CouponRedemptions>();
        var store = isolated.Services.GetRequiredService<TableInvoicingStore>();
        var coupon = (await admin.PostJsonAsync("/api/coupons", new { percent_off = 40, duration = "once", max_redemptions = 1 })).Id();
        var stopped = await admin.CreateCustomerAsync(new { name = "Stopped" });
        var waiting = await admin.CreateCustomerAsync(new { name = "Waiting" });

        // A request that reserved the only redemption and stopped (process gone) before saving the discount.
        await redemptions.ReserveAsync(coupon, stopped, stopped, null, DateTimeOffset.UtcNow);
        Assert.Equal(1, await TimesRedeemedAsync(coupon, admin));
        var blocked = await admin.PostJsonAsync($"/api/customers/{waiting}/discount", new { coupon });
        Assert.Equal("coupon_expired", (string?)blocked.Body["code"]); // never over the maximum, even for a moment
        Assert.Equal(0, await isolated.RunDueWorkAsync(DateTimeOffset.UtcNow)); // not due before the settle delay

        await isolated.RunDueWorkAsync(DateTimeOffset.UtcNow + CouponRedemptions.SettleAfter + TimeSpan.FromMinutes(1));

        Assert.Equal(0, await TimesRedeemedAsync(coupon, admin));
        Assert.Empty(await RedemptionsAsync(isolated, coupon));
        Assert.Null((await CustomerAsync(admin, stopped))["discount"]);
        var granted = await admin.PostJsonAsync($"/api/customers/{waiting}/discount", new { coupon });
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal(1, await TimesRedeemedAsync(coupon, admin));

        // A request that saved the discount on its target (with its fence) and stopped before settling: the redemption stays.
        var other = (await admin.PostJsonAsync("/api/coupons", new { percent_off = 5, duration = "forever", max_redemptions = 3 })).Id();
        var saved = await admin.CreateCustomerAsync(new { name = "Saved" });
        var reservation = await redemptions.ReserveAsync(other, saved, saved, null, DateTimeOffset.UtcNow);
        var row = (await store.GetCustomerAsync(saved))!;
        Assert.True(await reservation.AddTo(new PartitionBatch(saved).Replace(TableCustomerStore.Row, row.Value.ApplyDiscount(reservation.Discount), row.ETag)).TrySubmitAsync(store.Client));

        await isolated.RunDueWorkAsync(DateTimeOffset.UtcNow + CouponRedemptions.SettleAfter + TimeSpan.FromMinutes(1));

        Assert.Equal(1, await TimesRedeemedAsync(other, admin));
        Assert.Equal(RedemptionStatus.Applied, Assert.Single(await RedemptionsAsync(isolated, other)).Status);
        Assert.Equal(reservation.Discount.Id, (string?)(await CustomerAsync(admin, saved))["discount"]!["id"]);

        // The client's retry of a stopped request takes over its reservation instead of counting a second one.
        var retried = await admin.CreateCustomerAsync(new { name = "Retried" });
        var abandoned = await redemptions.ReserveAsync(other, retried, retried, null, DateTimeOffset.UtcNow);
        var retry = await admin.PostJsonAsync($"/api/customers/{retried}/discount", new { coupon = other });
        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.Equal(abandoned.Discount.Id, (string?)retry.Body["discount"]!["id"]);
        Assert.Equal(2, await TimesRedeemedAsync(other, admin));
        await isolated.RunDueWorkAsync(DateTimeOffset.UtcNow + CouponRedemptions.SettleAfter + TimeSpan.FromMinutes(1));
        Assert.Equal(2, await TimesRedeemedAsync(other, admin));
        Assert.All(await RedemptionsAsync(isolated, other), r => Assert.Equal(RedemptionStatus.Applied, r.Status));
    }

    private Task AdvanceAsync(string clock, DateTimeOffset to) => Given.AdvanceAsync(clock, to);
}
