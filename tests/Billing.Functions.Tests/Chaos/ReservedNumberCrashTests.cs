using System.Net;
using Billing.Functions.Invoices;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// Account-wide numbering under crashes with no retry: the finalizing request "dies" after each of its side-effecting
/// steps in turn and the client goes away. Once the due work has run, every reserved number is on an open invoice and the
/// numbers handed out are 1…n without a gap; a draft that never got a claim stays a draft and took no number.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class ReservedNumberCrashTests(AppFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_finalization_that_stops_after_any_step_and_is_never_retried_leaves_no_gap_in_the_account_sequence()
    {
        await using var h = await ChaosHarness.StartAsync(fixture, new Dictionary<string, string?> { ["Invoicing:Numbering"] = "account" });
        var tally = new ChaosTally(output, "reserved numbers");
        var numbering = h.App.Services.GetRequiredService<AccountNumbering>();
        var (customer, _) = await h.CustomerWithCardAsync();

        var probe = new CrashPlan(0);
        await FinalizeOnceAsync(h, probe, await DraftAsync(h, customer));
        var steps = probe.Steps;
        output.WriteLine($"finalize: {steps} steps: {string.Join(" | ", probe.Trace)}");
        Assert.Contains(probe.Trace, t => t.Contains("Schedule", StringComparison.Ordinal));

        var drafts = new List<string>();
        for (var k = 1; k <= steps; k++)
        {
            var draft = await DraftAsync(h, customer);
            drafts.Add(draft);
            var plan = new CrashPlan(k);
            await FinalizeOnceAsync(h, plan, draft);
            tally.Run();
            tally.Check(plan.Crashed, $"crash after step {k}: the plan never fired");
        }

        // Nobody retries. Time passes and the billing clock runs what is due.
        h.Clock.Offset += AccountNumbering.FinalizeReservedAfter + TimeSpan.FromMinutes(1);
        await h.App.RunDueWorkAsync(h.Clock.GetUtcNow());

        var numbers = new List<string>();
        for (var k = 1; k <= steps; k++)
        {
            var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{drafts[k - 1]}")).Body;
            var claim = await numbering.FindClaimAsync(drafts[k - 1]);
            if (claim is null)
            {
                tally.Check((string?)invoice["status"] == "draft" && invoice["number"] is null, $"crash after step {k}: no claim, yet the invoice is {invoice["status"]} {invoice["number"]}");
                continue;
            }

            tally.Check((string?)invoice["status"] == "open" && (string?)invoice["number"] == claim.Number,
                $"crash after step {k}: claim {claim.Number}, invoice {invoice["status"]} {invoice["number"]}");
            numbers.Add(claim.Number);
        }

        // The next finalization takes the very next number.
        var last = await h.Admin.PostJsonAsync($"/api/invoices/{await DraftAsync(h, customer)}/finalize");
        Assert.Equal(HttpStatusCode.OK, last.Status);
        numbers.Add((string)last.Body["number"]!);
        var year = h.Clock.GetUtcNow().Year;
        var expected = Enumerable.Range(2, numbers.Count).Select(n => $"INV-{year}-{n:D6}").ToList(); // number 1 went to the probe
        tally.Check(numbers.SequenceEqual(expected), $"numbers {string.Join(", ", numbers)}, expected {string.Join(", ", expected)}");
        tally.Check(numbers.Count > 1, "no crash point was at or after the claim");
        var left = (await h.ScheduleOfAsync(customer)).Where(w => w.Kind == AccountNumbering.FinalizeReservedWork).ToList();
        tally.Check(left.Count == 0, $"{left.Count} finalize commitments left in the schedule");
        tally.Report($"{steps} crash points");
    }

    private static async Task<string> DraftAsync(ChaosHarness h, string customer)
    {
        var draft = await h.Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items = new[] { new { description = "Consulting", unit_amount = 4200, quantity = 1 } } });
        Assert.True(draft.Status == HttpStatusCode.Created, draft.Body.ToJsonString());
        return draft.Id();
    }

    /// <summary>One finalize under <paramref name="plan"/>; a crash is the connection dropping, and the client never comes back.</summary>
    private static async Task FinalizeOnceAsync(ChaosHarness h, CrashPlan plan, string invoice)
    {
        using var client = plan.Client(h.App);
        plan.Arm();
        try
        {
            var result = await client.PostJsonAsync($"/api/invoices/{invoice}/finalize");
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
