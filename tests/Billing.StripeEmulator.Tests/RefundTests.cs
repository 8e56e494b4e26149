using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class RefundTests
{
    [Fact]
    public async Task Partial_refunds_up_to_the_amount_then_rejected()
    {
        await using var h = new Harness();
        var pi = await h.ChargeAsync(null, "pm_card_visa", 1000);
        var r1 = await h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 300 });
        Assert.StartsWith("re_", r1.Id, StringComparison.Ordinal);
        Assert.Equal("succeeded", r1.Status);
        Assert.Equal(pi.LatestChargeId, r1.ChargeId);
        await h.Refunds.CreateAsync(new RefundCreateOptions { Charge = pi.LatestChargeId, Amount = 300 });

        var over = await Assert.ThrowsAsync<StripeException>(() => h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 500 }));
        Assert.Equal(400, (int)over.HttpStatusCode);
        Assert.Equal("amount", over.StripeError.Param);

        var rest = await h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        Assert.Equal(400, rest.Amount);
        var charge = await h.Charges.GetAsync(pi.LatestChargeId);
        Assert.Equal(1000, charge.AmountRefunded);
        Assert.True(charge.Refunded);

        var again = await Assert.ThrowsAsync<StripeException>(() => h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1 }));
        Assert.Equal("charge_already_refunded", again.StripeError.Code);

        var list = await h.Refunds.ListAsync(new RefundListOptions { PaymentIntent = pi.Id });
        Assert.Equal(3, list.Data.Count);
        Assert.Equal(r1.Id, (await h.Refunds.GetAsync(r1.Id)).Id);
        Assert.Equal(3, h.Emulator.EventTypes.Count(t => t == "refund.created"));
        Assert.Equal(3, h.Emulator.EventTypes.Count(t => t == "charge.refunded"));
    }

    [Fact]
    public async Task Concurrent_refunds_never_exceed_the_charged_amount()
    {
        await using var h = new Harness();
        var pi = await h.ChargeAsync(null, "pm_card_visa", 1000);
        var attempts = Enumerable.Range(0, 25).Select(async _ =>
        {
            try
            {
                await h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 100 });
                return true;
            }
            catch (StripeException ex) when (ex.HttpStatusCode == System.Net.HttpStatusCode.BadRequest)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(attempts);
        Assert.Equal(10, results.Count(r => r));
        Assert.Equal(1000, (await h.Charges.GetAsync(pi.LatestChargeId)).AmountRefunded);
    }

    [Fact]
    public async Task Pending_refunds_settle_to_succeeded_or_failed_with_refund_updated()
    {
        await using var h = new Harness();
        var captured = h.CaptureWebhooks();
        var pi = await h.ChargeAsync(null, "pm_card_visa", 1000);
        h.Emulator.MakeNextRefundsPending(2);
        var a = await h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 400 });
        var b = await h.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 400 });
        Assert.Equal("pending", a.Status);
        Assert.Equal("pending", b.Status);

        h.Emulator.SettleRefund(a.Id, succeed: true);
        h.Emulator.SettleRefund(b.Id, succeed: false);
        Assert.Equal("succeeded", (await h.Refunds.GetAsync(a.Id)).Status);
        var failed = await h.Refunds.GetAsync(b.Id);
        Assert.Equal("failed", failed.Status);
        Assert.Equal("declined", failed.FailureReason);
        Assert.Equal(400, (await h.Charges.GetAsync(pi.LatestChargeId)).AmountRefunded);

        await h.Emulator.Webhooks.WaitForDrainAsync();
        var updates = captured.Verified().Where(e => e.Type == "refund.updated").Select(e => (Refund)e.Data.Object).ToList();
        Assert.Contains(updates, r => r.Id == a.Id && r.Status == "succeeded");
        Assert.Contains(updates, r => r.Id == b.Id && r.Status == "failed");
    }
}
