using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Billing.StripeEmulator;

namespace Billing.Functions.Tests.Payments;

[Collection(AppCollection.Name)]
public sealed class RefundTests(AppFixture fixture)
{
    [Fact]
    public async Task Partial_refunds_then_the_remainder_and_never_more()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var payment = (await h.PayAsync(customer, 10_000)).Id();

        var partial = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 2500, reason = "requested_by_customer" }, "refund-1");
        Assert.Equal(HttpStatusCode.Created, partial.Status);
        Assert.Equal("succeeded", (string?)partial.Body["status"]);
        Assert.Equal(2500, (long)partial.Body["amount"]!);
        Assert.StartsWith("re_", (string?)partial.Body["stripe_refund_id"], StringComparison.Ordinal);

        var tooMuch = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 7501 }, "refund-2");
        tooMuch.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("refund_exceeds_remaining", (string?)tooMuch.Body["code"]);

        var rest = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { reason = "duplicate" }, "refund-3");
        Assert.Equal(HttpStatusCode.Created, rest.Status);
        Assert.Equal(7500, (long)rest.Body["amount"]!);

        var replay = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { reason = "duplicate" }, "refund-3");
        Assert.Equal(rest.Id(), replay.Id());
        var nothingLeft = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { }, "refund-4");
        nothingLeft.AssertProblem(HttpStatusCode.Conflict);

        Assert.Equal(2, h.Emulator.Count("refund"));
        var after = await h.Admin.GetJsonAsync($"/api/payments/{payment}");
        Assert.Equal(10_000, (long)after.Body["amount_refunded"]!);
        Assert.Equal(0, (long)after.Body["amount_refundable"]!);
        var listed = await h.Admin.GetJsonAsync($"/api/payments/{payment}/refunds");
        Assert.Equal([rest.Id(), partial.Id()], listed.Body["data"]!.AsArray().Select(r => (string)r!["id"]!));
        await h.DrainEventsAsync();
        Assert.Equal(10_000, (long)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["amount_refunded"]!);
    }

    [Fact]
    public async Task Ten_concurrent_refunds_of_30_on_a_payment_of_100_leave_exactly_three_accepted()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var payment = (await h.PayAsync(customer, 100, "gbp")).Id();

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 30 }, $"parallel-{i}")));

        Assert.Equal(3, results.Count(r => r.Status == HttpStatusCode.Created));
        Assert.All(results.Where(r => r.Status != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.Status));
        Assert.Equal(3, h.Emulator.Count("refund"));
        var refunded = h.Emulator.GetObject((string)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["stripe_charge_id"]!)!;
        Assert.Equal(90, (long)refunded["amount_refunded"]!);
        var after = await h.Admin.GetJsonAsync($"/api/payments/{payment}");
        Assert.Equal(90, (long)after.Body["amount_refunded"]!);
        Assert.Equal(10, (long)after.Body["amount_refundable"]!);
    }

    [Fact]
    public async Task A_pending_refund_follows_Stripe_to_succeeded_or_to_failed_which_frees_the_amount_again()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var payment = (await h.PayAsync(customer, 5000)).Id();
        h.Emulator.MakeNextRefundsPending(2);

        var good = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 1000 }, "pending-1");
        var bad = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 2000 }, "pending-2");
        Assert.Equal("pending", (string?)good.Body["status"]);
        Assert.Equal("pending", (string?)bad.Body["status"]);
        Assert.Equal(3000, (long)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["amount_refunded"]!);

        h.Emulator.SettleRefund((string)good.Body["stripe_refund_id"]!, succeed: true);
        h.Emulator.SettleRefund((string)bad.Body["stripe_refund_id"]!, succeed: false);
        await h.DrainEventsAsync();

        var refunds = (await h.Admin.GetJsonAsync($"/api/payments/{payment}/refunds")).Body["data"]!.AsArray();
        Assert.Equal("succeeded", (string?)refunds.Single(r => (string)r!["id"]! == good.Id())!["status"]);
        Assert.Equal("failed", (string?)refunds.Single(r => (string)r!["id"]! == bad.Id())!["status"]);
        var after = await h.Admin.GetJsonAsync($"/api/payments/{payment}");
        Assert.Equal(1000, (long)after.Body["amount_refunded"]!);
        Assert.Equal(4000, (long)after.Body["amount_refundable"]!);
    }

    [Fact]
    public async Task A_refund_whose_answer_is_lost_is_resumed_by_the_retry_without_a_second_refund()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var (customer, _) = await h.CustomerWithCardAsync();
        var payment = (await h.PayAsync(customer, 5000)).Id();
        h.Emulator.Webhooks.Pause();
        h.Emulator.Faults.FailNext("POST", "/v1/refunds", FaultKind.ServerError, count: 4, phase: FaultPhase.AfterOperation);

        var first = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 1200 }, "lost-1");
        first.AssertProblem(HttpStatusCode.ServiceUnavailable);
        var held = await h.Admin.GetJsonAsync($"/api/payments/{payment}");
        Assert.Equal(3800, (long)held.Body["amount_refundable"]!);

        var retried = await h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 1200 }, "lost-1");
        Assert.Equal(HttpStatusCode.Created, retried.Status);
        Assert.Equal("succeeded", (string?)retried.Body["status"]);
        Assert.Equal(1, h.Emulator.Count("refund"));
        Assert.Equal(1200, (long)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["amount_refunded"]!);
    }

    [Fact]
    public async Task Refunds_need_a_key_an_admin_a_valid_reason_and_a_succeeded_payment()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        var declined = (string)(await h.PayAsync(customer, 2000, paymentMethod: "pm_card_chargeDeclined")).Body["payment"]!;

        (await h.Admin.PostJsonAsync($"/api/payments/{declined}/refunds", new { amount = 100 })).AssertProblem(HttpStatusCode.BadRequest);
        (await h.Admin.PostJsonAsync($"/api/payments/{declined}/refunds", new { amount = 100, reason = "changed_mind" }, "k1")).AssertProblem(HttpStatusCode.BadRequest);
        (await h.Admin.PostJsonAsync($"/api/payments/{declined}/refunds", new { amount = 0 }, "k2")).AssertProblem(HttpStatusCode.BadRequest);
        var notPaid = await h.Admin.PostJsonAsync($"/api/payments/{declined}/refunds", new { amount = 100 }, "k3");
        notPaid.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("payment_not_refundable", (string?)notPaid.Body["code"]);
        (await h.Admin.PostJsonAsync("/api/payments/pay_01JD0000000000000000000000/refunds", new { amount = 100 }, "k4")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(0, h.Emulator.Count("refund"));
    }
}
