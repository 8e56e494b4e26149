using System.Net;
using Billing.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// A refund credit note whose request "dies" after each of its side-effecting steps in turn, and whose client never
/// retries. Once the due work has run: a request that stopped before its transaction left no note and moved no money;
/// one that stopped after it has exactly one note and exactly one Stripe refund of the note's amount, as the crash
/// matrix requires of retried requests.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class AbandonedCreditNoteRefundTests(AppFixture fixture, ITestOutputHelper output)
{
    private const long Amount = 1300;

    [Fact]
    public async Task A_refund_credit_note_abandoned_after_any_step_ends_with_no_note_or_one_note_and_one_refund()
    {
        await using var h = await ChaosHarness.StartAsync(fixture);
        var tally = new ChaosTally(output, "abandoned credit note refunds");
        var price = await h.DailyPriceAsync(2000);

        var probe = new CrashPlan(0);
        await IssueOnceAsync(h, probe, await PaidInvoiceAsync(h, price));
        var steps = probe.Steps;
        output.WriteLine($"refund credit note: {steps} steps: {string.Join(" | ", probe.Trace)}");
        Assert.Contains("gateway refund", probe.Trace);

        var runs = new List<(int Step, string Customer, string Invoice, string Intent)>();
        for (var k = 1; k <= steps; k++)
        {
            var (customer, invoice, intent) = await PaidInvoiceAsync(h, price);
            var plan = new CrashPlan(k);
            await IssueOnceAsync(h, plan, (customer, invoice, intent));
            tally.Check(plan.Crashed, $"crash after step {k}: the plan never fired");
            runs.Add((k, customer, invoice, intent));
        }

        // Nobody retries. Time passes and the billing clock runs what is due.
        h.Clock.Offset += TimeSpan.FromMinutes(10);
        await h.App.RunDueWorkAsync(h.Clock.GetUtcNow());

        var stripe = await h.StripeListAsync("refunds");
        foreach (var (k, _, invoice, intent) in runs)
        {
            tally.Run();
            var where = $"crash after step {k}";
            var notes = (await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={invoice}")).Body["data"]!.AsArray();
            var refunds = stripe.Where(r => (string?)r["payment_intent"] == intent && (string?)r["status"] is "succeeded" or "pending").ToList();
            var body = (await h.Admin.GetJsonAsync($"/api/invoices/{invoice}")).Body;
            if (notes.Count == 0)
            {
                tally.Check(refunds.Count == 0 && (long)body["amount_refunded"]! == 0, $"{where}: no note, yet Stripe has {refunds.Count} refunds and the invoice {body["amount_refunded"]} refunded");
                continue;
            }

            var note = notes[0]!;
            tally.Check(notes.Count == 1 && (string?)note["status"] == "issued" && (string?)note["refund"]!["status"] == "succeeded", $"{where}: notes {notes.ToJsonString()}");
            tally.Check(refunds.Count == 1 && (long)refunds[0]["amount"]! == Amount && (string?)refunds[0]["id"] == (string?)note["refund"]!["stripe_refund_id"],
                $"{where}: Stripe has {refunds.Count} refunds ({string.Join(", ", refunds.Select(r => r["amount"]))})");
            tally.Check((long)body["amount_refunded"]! == Amount, $"{where}: invoice shows {body["amount_refunded"]} refunded");
        }

        tally.Check(runs.Any(r => r.Step >= steps / 2), "no crash point after the transaction");
        tally.Report($"{steps} crash points");
    }

    private static async Task<(string Customer, string Invoice, string Intent)> PaidInvoiceAsync(ChaosHarness h, string price)
    {
        var (customer, _) = await h.CustomerWithCardAsync();
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity = 1 } } }, Guid.NewGuid().ToString("N"));
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        Assert.Equal("succeeded", (string?)created.Body["latest_payment"]!["status"]);
        return (customer, (string)created.Body["latest_invoice"]!, (string)created.Body["latest_payment"]!["payment_id"]!);
    }

    /// <summary>One request under <paramref name="plan"/>; a crash is the connection dropping, and the client never comes back.</summary>
    private static async Task IssueOnceAsync(ChaosHarness h, CrashPlan plan, (string Customer, string Invoice, string Intent) paid)
    {
        using var client = plan.Client(h.App);
        plan.Arm();
        try
        {
            var result = await client.PostJsonAsync("/api/credit-notes", new { invoice = paid.Invoice, amount = Amount, outcome = "refund" }, Guid.NewGuid().ToString("N"));
            result.Response.Dispose();
        }
        catch (Exception e) when (e is InjectedCrashException or HttpRequestException || e.InnerException is InjectedCrashException)
        {
        }
        finally
        {
            CrashPlan.Disarm();
        }
    }
}
