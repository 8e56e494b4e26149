using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Billing.Functions.Tests.Subscriptions;

namespace Billing.Functions.Tests.Invoices;

/// <summary>
/// Refund credit notes end to end: the real gateway adapter against the Stripe emulator, whose ledger is the judge of
/// how much money went back (exactly once, never more than was paid).
/// </summary>
[Collection(AppCollection.Name)]
public sealed class RefundCreditNoteTests(AppFixture fixture)
{
    [Fact]
    public async Task A_refund_credit_note_on_a_paid_subscription_invoice_refunds_exactly_its_amount_once_at_Stripe()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);
        var body = new { invoice = paid.Invoice, amount = 1200, outcome = "refund", reason = "order_change", memo = "Seat removed" };

        var created = await h.Admin.PostJsonAsync("/api/credit-notes", body, "cn-refund-1");
        var replayed = await h.Admin.PostJsonAsync("/api/credit-notes", body, "cn-refund-1");

        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        var note = created.Body;
        Assert.Equal(("issued", "refund", 1200L), ((string?)note["status"], (string?)note["outcome"], (long)note["amount"]!));
        var refund = note["refund"]!;
        Assert.Equal(("succeeded", 1200L), ((string?)refund["status"], (long)refund["amount"]!));
        Assert.StartsWith("rfd_", (string?)refund["id"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, replayed.Status);
        Assert.Equal(note.ToJsonString(), replayed.Body.ToJsonString());

        var stripe = await StripeRefundsAsync(h, paid.Intent);
        var only = Assert.Single(stripe);
        Assert.Equal((1200L, "succeeded", "requested_by_customer"), ((long)only["amount"]!, (string?)only["status"], (string?)only["reason"]));
        Assert.Equal((string?)refund["stripe_refund_id"], (string?)only["id"]);
        Assert.Equal(NoteId(note), (string?)only["metadata"]!["billing_credit_note_id"]);

        Assert.Equal(note.ToJsonString(), (await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(note)}")).Body.ToJsonString());
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body;
        Assert.Equal(("paid", 5000L, 1200L, 1200L), ((string?)invoice["status"], (long)invoice["amount_paid"]!, (long)invoice["amount_refunded"]!, (long)invoice["post_payment_credit_notes_amount"]!));
        var payment = (await h.Admin.GetJsonAsync($"/api/payments/{refund["payment"]}")).Body;
        Assert.Equal((paid.Invoice, paid.Intent, 5000L, 1200L, 3800L),
            ((string?)payment["invoice"], (string?)payment["stripe_payment_intent_id"], (long)payment["amount_received"]!, (long)payment["amount_refunded"]!, (long)payment["amount_refundable"]!));
        var refunds = (await h.Admin.GetJsonAsync($"/api/payments/{refund["payment"]}/refunds")).Body["data"]!.AsArray();
        Assert.Equal([(string)refund["id"]!], refunds.Select(r => (string)r!["id"]!));
        Assert.Contains(await EventsAsync(h, "credit_note.created"), e => (string?)e["data"]!["id"] == NoteId(note));
        Assert.Contains(await EventsAsync(h, "refund.created"), e => (string?)e["data"]!["id"] == (string?)refund["id"]);

        // The note's due work, when it comes, finds nothing left to do.
        await h.DrainEventsAsync();
        await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddMinutes(10));
        Assert.Single(await StripeRefundsAsync(h, paid.Intent));
        Assert.Equal(note.ToJsonString(), (await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(note)}")).Body.ToJsonString());
    }

    [Fact]
    public async Task A_partial_refund_then_the_rest_refund_the_whole_payment_and_not_a_unit_more()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);

        var first = await RefundAsync(h, paid.Invoice, 1501);
        var rest = await RefundAsync(h, paid.Invoice, 3499);
        var more = await RefundAsync(h, paid.Invoice, 1);

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, rest.Status);
        Assert.Equal((string?)first.Body["refund"]!["payment"], (string?)rest.Body["refund"]!["payment"]);
        Assert.Equal((string?)first.Body["number"] + "|" + (string?)rest.Body["number"], InvoiceNumber(first.Body) + "-CN-01|" + InvoiceNumber(first.Body) + "-CN-02");
        Assert.Contains("amount", more.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        Assert.Equal([1501L, 3499L], (await StripeRefundsAsync(h, paid.Intent)).Select(r => (long)r["amount"]!).Order());
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body;
        Assert.Equal((5000L, 5000L, 5000L), ((long)invoice["amount_paid"]!, (long)invoice["amount_refunded"]!, (long)invoice["post_payment_credit_notes_amount"]!));
        Assert.Equal(2, (await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={paid.Invoice}")).Body["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task Refunding_more_than_was_paid_or_without_an_Idempotency_Key_is_refused_and_changes_nothing()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);
        var before = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body.ToJsonString();

        var tooMuch = await RefundAsync(h, paid.Invoice, 5001);
        var noKey = await h.Admin.PostJsonAsync("/api/credit-notes", new { invoice = paid.Invoice, amount = 100, outcome = "refund" });
        var zero = await RefundAsync(h, paid.Invoice, 0);

        Assert.Contains("amount", tooMuch.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        noKey.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal("idempotency_key_required", (string?)noKey.Body["code"]);
        zero.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(before, (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body.ToJsonString());
        Assert.Empty((await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={paid.Invoice}")).Body["data"]!.AsArray());
        Assert.Empty((await h.Admin.GetJsonAsync($"/api/payments?customer={paid.Customer}")).Body["data"]!.AsArray());
        Assert.Empty(await StripeRefundsAsync(h, paid.Intent));
    }

    [Fact]
    public async Task Concurrent_refund_credit_notes_and_a_direct_refund_never_refund_more_than_was_paid()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);

        var racing = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => RefundAsync(h, paid.Invoice, 2000)));

        Assert.Equal(2, racing.Count(r => r.Status == HttpStatusCode.Created));
        Assert.All(racing.Where(r => r.Status != HttpStatusCode.Created), r => Assert.True(r.Status is HttpStatusCode.BadRequest or HttpStatusCode.Conflict, r.Body.ToJsonString()));
        var payment = (string)racing.First(r => r.Status == HttpStatusCode.Created).Body["refund"]!["payment"]!;

        // What is left (1000) is taken either by a credit note or by a refund through the refunds API, never by both.
        var both = await Task.WhenAll(
            RefundAsync(h, paid.Invoice, 1000),
            h.Admin.PostJsonAsync($"/api/payments/{payment}/refunds", new { amount = 1000 }, Guid.NewGuid().ToString("N")));

        Assert.Equal(1, both.Count(r => r.Status == HttpStatusCode.Created));
        var stripe = await StripeRefundsAsync(h, paid.Intent);
        Assert.Equal(5000, stripe.Sum(r => (long)r["amount"]!));
        Assert.Equal(stripe.Count, racing.Count(r => r.Status == HttpStatusCode.Created) + 1);
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body;
        var notes = (await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={paid.Invoice}")).Body["data"]!.AsArray();
        Assert.Equal(notes.Sum(n => (long)n!["amount"]!), (long)invoice["amount_refunded"]!);
        Assert.Equal(0, (long)(await h.Admin.GetJsonAsync($"/api/payments/{payment}")).Body["amount_refundable"]!);
    }

    [Fact]
    public async Task A_refund_Stripe_refuses_voids_the_credit_note_and_gives_its_amount_back_to_the_invoice()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);
        Assert.Equal(HttpStatusCode.Created, (await RefundAsync(h, paid.Invoice, 1000)).Status);
        await h.DrainEventsAsync();

        // Someone refunds most of the payment in the Stripe dashboard; the events have not reached us yet.
        h.Emulator.Webhooks.Pause();
        using (var dashboard = StripeClient(h))
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["payment_intent"] = paid.Intent, ["amount"] = "3500" });
            (await dashboard.PostAsync(new Uri("/v1/refunds", UriKind.Relative), form)).EnsureSuccessStatusCode();
        }

        var refused = await RefundAsync(h, paid.Invoice, 2000);

        refused.AssertProblem(HttpStatusCode.Conflict);
        var problem = refused.Body;
        Assert.Equal("refund_failed", (string?)problem["code"]);
        var note = (await h.Admin.GetJsonAsync($"/api/credit-notes/{problem["credit_note"]}")).Body;
        Assert.Equal(("void", "failed"), ((string?)note["status"], (string?)note["refund"]!["status"]));
        Assert.NotNull(note["voided_at"]);
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body;
        Assert.Equal((1000L, 1000L), ((long)invoice["amount_refunded"]!, (long)invoice["post_payment_credit_notes_amount"]!));
        Assert.Equal([1000L, 3500L], (await StripeRefundsAsync(h, paid.Intent)).Select(r => (long)r["amount"]!).Order());
        var payment = (await h.Admin.GetJsonAsync($"/api/payments/{note["refund"]!["payment"]}")).Body;
        Assert.Equal(1000, (long)payment["amount_refunded"]!); // the refused refund holds nothing
        Assert.Contains(await EventsAsync(h, "credit_note.voided"), e => (string?)e["data"]!["id"] == NoteId(note));

        // Once Stripe's events arrive, our payment knows about the dashboard refund and only 500 remain refundable.
        h.Emulator.Webhooks.Resume();
        await h.DrainEventsAsync();
        Assert.Equal(500, (long)(await h.Admin.GetJsonAsync($"/api/payments/{note["refund"]!["payment"]}")).Body["amount_refundable"]!);
        Assert.Contains("amount", (await RefundAsync(h, paid.Invoice, 501)).AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        var credit = await h.Admin.PostJsonAsync("/api/credit-notes", new { invoice = paid.Invoice, amount = 2000, outcome = "credit_balance" });
        Assert.Equal(HttpStatusCode.Created, credit.Status);
    }

    [Fact]
    public async Task A_pending_refund_that_fails_later_voids_its_credit_note_and_one_that_succeeds_settles_it()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var paid = await PaidSubscriptionInvoiceAsync(h);
        h.Emulator.MakeNextRefundsPending(2);

        var failing = await RefundAsync(h, paid.Invoice, 700);
        var settling = await RefundAsync(h, paid.Invoice, 300);
        await h.DrainEventsAsync();

        Assert.Equal(("issued", "pending"), ((string?)failing.Body["status"], (string?)failing.Body["refund"]!["status"]));
        Assert.Equal("pending", (string?)settling.Body["refund"]!["status"]);
        Assert.Equal(1000, (long)(await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body["amount_refunded"]!);

        // No event arrives: the note's due work asks Stripe, finds the refund failed and voids the note.
        h.Emulator.Webhooks.Pause();
        h.Emulator.SettleRefund((string)failing.Body["refund"]!["stripe_refund_id"]!, succeed: false, failureReason: "expired_or_canceled_card");
        await h.App.RunDueWorkAsync(DateTimeOffset.UtcNow.AddMinutes(10));

        var failed = (await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(failing.Body)}")).Body;
        Assert.Equal(("void", "failed", "expired_or_canceled_card"), ((string?)failed["status"], (string?)failed["refund"]!["status"], (string?)failed["refund"]!["failure_reason"]));
        Assert.Equal("pending", (string?)(await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(settling.Body)}")).Body["refund"]!["status"]);
        Assert.Equal(300, (long)(await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body["amount_refunded"]!);

        // Stripe's events settle the other one without waiting for the due work.
        h.Emulator.Webhooks.Resume();
        h.Emulator.SettleRefund((string)settling.Body["refund"]!["stripe_refund_id"]!, succeed: true);
        await h.DrainEventsAsync();

        var settled = (await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(settling.Body)}")).Body;
        Assert.Equal(("issued", "succeeded"), ((string?)settled["status"], (string?)settled["refund"]!["status"]));
        Assert.Equal("void", (string?)(await h.Admin.GetJsonAsync($"/api/credit-notes/{NoteId(failing.Body)}")).Body["status"]);
        var invoice = (await h.Admin.GetJsonAsync($"/api/invoices/{paid.Invoice}")).Body;
        Assert.Equal((300L, 300L, "paid"), ((long)invoice["amount_refunded"]!, (long)invoice["post_payment_credit_notes_amount"]!, (string?)invoice["status"]));
        var payment = (await h.Admin.GetJsonAsync($"/api/payments/{settled["refund"]!["payment"]}")).Body;
        Assert.Equal((300L, 4700L), ((long)payment["amount_refunded"]!, (long)payment["amount_refundable"]!));
        Assert.Equal(300, (await StripeRefundsAsync(h, paid.Intent)).Where(r => (string?)r["status"] == "succeeded").Sum(r => (long)r["amount"]!));
        Assert.Contains(await EventsAsync(h, "credit_note.updated"), e => (string?)e["data"]!["id"] == NoteId(settling.Body) && (string?)e["data"]!["refund"]!["status"] == "succeeded");
        Assert.Contains(await EventsAsync(h, "credit_note.voided"), e => (string?)e["data"]!["id"] == NoteId(failing.Body));
    }

    [Fact]
    public async Task An_invoice_paid_out_of_band_has_no_payment_to_refund_and_open_invoices_are_not_refunded()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        var draft = await h.Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items = new[] { new { description = "Consulting", unit_amount = 4000, quantity = 1 } } });
        await h.Admin.PostJsonAsync($"/api/invoices/{draft.Id()}/finalize");

        var open = await RefundAsync(h, draft.Id(), 100);
        await h.Admin.PostJsonAsync($"/api/invoices/{draft.Id()}/pay", new { paid_out_of_band = true });
        var outOfBand = await RefundAsync(h, draft.Id(), 100);

        Assert.Contains("outcome", open.AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        outOfBand.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("no_refundable_payment", (string?)outOfBand.Body["code"]);
        Assert.Empty((await h.Admin.GetJsonAsync($"/api/credit-notes?invoice={draft.Id()}")).Body["data"]!.AsArray());
    }

    private sealed record PaidInvoice(string Customer, string Invoice, string Intent);

    /// <summary>A customer with a card subscribed to 2 × 25.00: the first invoice (5000) is charged at once.</summary>
    private static async Task<PaidInvoice> PaidSubscriptionInvoiceAsync(PaymentsHarness h)
    {
        var (customer, _) = await h.CustomerWithCardAsync("pm_card_visa");
        var price = await new BillingScenario(h.Admin).PriceAsync(2500);
        var created = await h.Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity = 2 } } }, Guid.NewGuid().ToString("N"));
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        Assert.Equal("succeeded", (string?)created.Body["latest_payment"]!["status"]);
        var invoice = (string)created.Body["latest_invoice"]!;
        Assert.Equal(5000, (long)(await h.Admin.GetJsonAsync($"/api/invoices/{invoice}")).Body["amount_paid"]!);
        return new PaidInvoice(customer, invoice, (string)created.Body["latest_payment"]!["payment_id"]!);
    }

    private static Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> RefundAsync(PaymentsHarness h, string invoice, long amount) =>
        h.Admin.PostJsonAsync("/api/credit-notes", new { invoice, amount, outcome = "refund" }, Guid.NewGuid().ToString("N"));

    private static string NoteId(JsonNode note) => (string)note["id"]!;

    private static string InvoiceNumber(JsonNode note) => ((string)note["number"]!)[..^"-CN-01".Length];

    private static async Task<IReadOnlyList<JsonNode>> EventsAsync(PaymentsHarness h, string type) =>
        [.. (await h.Admin.GetJsonAsync($"/api/events?type={type}&limit=100")).Body["data"]!.AsArray().Select(e => e!)];

    private static HttpClient StripeClient(PaymentsHarness h)
    {
        var client = new HttpClient(h.Emulator.CreateHandler()) { BaseAddress = new Uri(StripeEmulator.StripeEmulator.InProcessBaseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_credit_notes");
        return client;
    }

    /// <summary>Stripe's refunds of <paramref name="intent"/>, as its ledger has them.</summary>
    private static async Task<IReadOnlyList<JsonNode>> StripeRefundsAsync(PaymentsHarness h, string intent)
    {
        using var client = StripeClient(h);
        var page = JsonNode.Parse(await client.GetStringAsync(new Uri($"/v1/refunds?payment_intent={intent}&limit=100", UriKind.Relative)))!;
        return [.. page["data"]!.AsArray().Select(r => r!)];
    }
}
