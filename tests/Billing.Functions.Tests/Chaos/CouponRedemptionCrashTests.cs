using System.Net;
using Billing.Domain.Invoicing;
using Billing.Functions.Invoices;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// Crash matrix for applying a coupon to a customer: the clean request's storage writes are counted, then for every
/// write k a request "crashes" right after it, and is either retried by the client or abandoned. Once the settle delay
/// has passed and due work ran, a coupon's <c>times_redeemed</c> must equal the number of customers holding it, every
/// redemption must be settled as applied, and nothing may be left scheduled.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class CouponRedemptionCrashTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_crash_point_of_applying_a_coupon_leaves_times_redeemed_equal_to_the_customers_holding_it()
    {
        await using var h = await ChaosHarness.StartAsync(fixture, deliverWebhooks: false);
        var coupon = (await h.Admin.PostJsonAsync("/api/coupons", new { percent_off = 10, duration = "forever" })).Id();
        var probe = new CrashPlan(0);
        var first = await h.Admin.CreateCustomerAsync();
        var clean = await probe.Client(h.App).PostJsonAsync($"/api/customers/{first}/discount", new { coupon });
        Assert.True(clean.Status == HttpStatusCode.OK, clean.Body.ToJsonString());
        var steps = probe.Steps;
        output.WriteLine($"{steps} steps: {string.Join(" | ", probe.Trace)}");
        Assert.True(steps >= 3, "The clean run should reserve, save and settle.");

        var tally = new ChaosTally(output, "crash matrix/customer discount");
        var customers = new List<string> { first };
        var retried = new List<string> { first };
        var crashed = 0;
        foreach (var k in Enumerable.Range(1, steps))
        {
            foreach (var retry in new[] { true, false })
            {
                var customer = await h.Admin.CreateCustomerAsync();
                customers.Add(customer);
                var plan = new CrashPlan(k);
                try
                {
                    await plan.Client(h.App).PostJsonAsync($"/api/customers/{customer}/discount", new { coupon });
                }
                catch (HttpRequestException) when (plan.Crashed)
                {
                    // The process "died" after the answer was started (e.g. while auditing it): the client sees a broken connection.
                }

                crashed += plan.Crashed ? 1 : 0;
                tally.Run();
                if (retry)
                {
                    var again = await h.Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon });
                    tally.Check(again.Status == HttpStatusCode.OK, $"k={k}: the retry answered {(int)again.Status} {again.Body.ToJsonString()}");
                    retried.Add(customer);
                }
            }
        }

        h.Clock.Offset += CouponRedemptions.SettleAfter + TimeSpan.FromMinutes(1);
        await h.App.RunDueWorkAsync(h.Clock.GetUtcNow());

        var holders = new List<string>();
        foreach (var customer in customers)
        {
            var discount = (await h.Admin.GetJsonAsync($"/api/customers/{customer}")).Body["discount"];
            if (discount is not null)
            {
                holders.Add(customer);
            }

            tally.Check(discount is not null || !retried.Contains(customer), $"{customer} was retried to success but holds no discount");
            tally.Check(!(await h.ScheduleOfAsync(customer)).Any(w => w.Kind == CouponRedemptions.WorkKind), $"{customer}: a redemption is still scheduled");
        }

        var timesRedeemed = (int)(await h.Admin.GetJsonAsync($"/api/coupons/{coupon}")).Body["times_redeemed"]!;
        var rows = (await h.App.Services.GetRequiredService<TableInvoicingStore>().Table
            .ListAsync<CouponRedemption>(TableInvoicingStore.CouponPartition, $"redemption|{coupon}|", null, 1000)).Data;
        tally.Check(timesRedeemed == holders.Count, $"times_redeemed {timesRedeemed} but {holders.Count} customers hold the coupon");
        tally.Check(rows.Select(r => r.TargetId).Order(StringComparer.Ordinal).SequenceEqual(holders.Order(StringComparer.Ordinal)), "redemption rows do not match the holders");
        tally.Check(rows.All(r => r.Status == RedemptionStatus.Applied), "a redemption is left unsettled");
        tally.Report($"{steps} crash points × (retried, abandoned), {crashed} runs crashed; {holders.Count} of {customers.Count} customers hold the coupon");
    }
}
