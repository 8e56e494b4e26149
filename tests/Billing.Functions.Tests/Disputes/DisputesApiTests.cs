using System.Net;
using System.Text;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Disputes;

[Collection(AppCollection.Name)]
public sealed class DisputesApiTests(AppFixture fixture)
{
    [Fact]
    public async Task Evidence_over_the_limits_or_unknown_fields_is_400_with_field_errors_and_nothing_is_staged()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        await h.DisputedPaymentAsync(customer, 1000);
        var id = (await h.SingleDisputeAsync(customer)).Id();

        var tooLong = (await h.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { customer_name = new string('a', 5001), uncategorized_text = new string('b', 20_001) } })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("evidence.customer_name", tooLong.Select(e => e.Key));
        Assert.Contains("evidence.uncategorized_text", tooLong.Select(e => e.Key));
        var unknown = (await h.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { favourite_colour = "blue" } })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("evidence.favourite_colour", unknown.Select(e => e.Key));
        var badFile = (await h.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { receipt = "https://example.com/receipt.pdf" } })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("evidence.receipt", badFile.Select(e => e.Key));
        (await h.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { } })).AssertProblem(HttpStatusCode.BadRequest);
        var big = new string('c', 19_000);
        var total = (await h.Admin.PatchJsonAsync($"/api/disputes/{id}/evidence", new
        {
            evidence = new { access_activity_log = big, cancellation_policy_disclosure = big, cancellation_rebuttal = big, duplicate_charge_explanation = big, product_description = big, refund_policy_disclosure = big, refund_refusal_explanation = big, uncategorized_text = big },
        })).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("evidence", total.Select(e => e.Key));
        (await h.Admin.PostJsonAsync($"/api/disputes/{id}/submit")).AssertProblem(HttpStatusCode.BadRequest);

        var dispute = await h.GetDisputeAsync(id);
        Assert.Empty(dispute["evidence"]!.AsObject());
        Assert.Equal("needs_response", (string?)h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!["status"]);
    }

    [Fact]
    public async Task Our_invoice_PDF_is_uploaded_once_as_the_receipt_and_a_missing_PDF_is_a_clear_400()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        await h.DisputedPaymentAsync(customer, 1000);
        var dispute = await h.SingleDisputeAsync(customer);
        var pdf = Encoding.ASCII.GetBytes("%PDF-1.7\n% invoice in_01TEST\n%%EOF\n");
        var container = h.App.Services.GetRequiredService<StorageClients>().Container("invoices");
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient($"{customer}/in_01TEST.pdf").UploadAsync(new BinaryData(pdf));

        var missing = await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { receipt = "invoice:in_02MISSING" } });
        var errors = missing.AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("has no PDF", string.Join(" ", errors["evidence.receipt"]!.AsArray().Select(e => (string?)e)), StringComparison.Ordinal);

        var staged = await h.Admin.PatchJsonAsync($"/api/disputes/{dispute.Id()}/evidence", new { evidence = new { receipt = "invoice:in_01TEST", customer_name = "Someone" } });
        Assert.Equal(HttpStatusCode.OK, staged.Status);
        Assert.Equal("invoice:in_01TEST", (string?)staged.Body["evidence"]!["receipt"]);
        var atStripe = h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!;
        var fileId = (string)atStripe["evidence"]!["receipt"]!;
        Assert.StartsWith("file_", fileId, StringComparison.Ordinal);
        Assert.Equal(pdf, h.Emulator.GetFileContent(fileId));

        Assert.Equal(HttpStatusCode.OK, (await h.Admin.PostJsonAsync($"/api/disputes/{dispute.Id()}/submit")).Status);
        Assert.Equal(1, h.Emulator.Count("file"));
        Assert.Equal(fileId, (string?)h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!["evidence"]!["receipt"]);
        Assert.Equal("under_review", (string?)h.Emulator.GetObject((string)dispute["stripe_dispute_id"]!)!["status"]);
    }

    [Fact]
    public async Task Unknown_disputes_are_404_and_customer_tokens_see_no_disputes_at_all()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var customer = await h.Admin.CreateCustomerAsync();
        await h.DisputedPaymentAsync(customer, 1000);
        var id = (await h.SingleDisputeAsync(customer)).Id();
        const string unknown = "dsp_01JZZZZZZZZZZZZZZZZZZZZZZZ";

        (await h.Admin.GetJsonAsync($"/api/disputes/{unknown}")).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.GetJsonAsync("/api/disputes/not-an-id")).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.PatchJsonAsync($"/api/disputes/{unknown}/evidence", new { evidence = new { customer_name = "x" } })).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.PostJsonAsync($"/api/disputes/{unknown}/submit")).AssertProblem(HttpStatusCode.NotFound);
        (await h.Admin.PostJsonAsync($"/api/disputes/{unknown}/accept", new { confirm = "accept" })).AssertProblem(HttpStatusCode.NotFound);

        var token = (string)(await h.Admin.PostJsonAsync($"/api/customers/{customer}/sessions")).Body["token"]!;
        using var asCustomer = h.App.WithBearer(token);
        (await asCustomer.GetJsonAsync($"/api/disputes/{id}")).AssertProblem(HttpStatusCode.NotFound);
        (await asCustomer.GetJsonAsync("/api/disputes")).AssertProblem(HttpStatusCode.NotFound);
        (await asCustomer.GetJsonAsync("/api/disputes/summary")).AssertProblem(HttpStatusCode.NotFound);
        (await asCustomer.PatchJsonAsync($"/api/disputes/{id}/evidence", new { evidence = new { customer_name = "x" } })).AssertProblem(HttpStatusCode.NotFound);
        (await asCustomer.PostJsonAsync($"/api/disputes/{id}/accept", new { confirm = "accept" })).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal("needs_response", (string?)(await h.GetDisputeAsync(id))["status"]);
    }

    [Fact]
    public async Task Lists_are_newest_first_with_a_cursor_and_filter_by_status_deadline_and_customer()
    {
        await using var h = await PaymentsHarness.StartAsync(fixture);
        var first = await h.Admin.CreateCustomerAsync();
        var second = await h.Admin.CreateCustomerAsync();
        await h.DisputedPaymentAsync(first, 1000);
        await h.DisputedPaymentAsync(second, 2000);
        await h.DisputedPaymentAsync(second, 3000);
        var newest = (await h.Admin.GetJsonAsync("/api/disputes?limit=2")).Body;
        Assert.True((bool)newest["has_more"]!);
        Assert.Equal([3000L, 2000L], newest["data"]!.AsArray().Select(d => (long)d!["amount"]!));
        var rest = (await h.Admin.GetJsonAsync($"/api/disputes?limit=2&starting_after={newest["data"]![1]!.Id()}")).Body;
        Assert.False((bool)rest["has_more"]!);
        Assert.Equal([1000L], rest["data"]!.AsArray().Select(d => (long)d!["amount"]!));

        var oldest = rest["data"]![0]!;
        Assert.Equal(HttpStatusCode.OK, (await h.Admin.PostJsonAsync($"/api/disputes/{oldest.Id()}/accept", new { confirm = "accept" })).Status);
        Assert.Equal([1000L], (await h.Admin.GetJsonAsync("/api/disputes?status=lost")).Body["data"]!.AsArray().Select(d => (long)d!["amount"]!));
        Assert.Equal(2, (await h.Admin.GetJsonAsync("/api/disputes?status=needs_response")).Body["data"]!.AsArray().Count);
        Assert.Equal(2, (await h.Admin.GetJsonAsync($"/api/disputes?customer={second}")).Body["data"]!.AsArray().Count);
        Assert.Empty((await h.Admin.GetJsonAsync($"/api/disputes?due_before={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture))}")).Body["data"]!.AsArray());
        Assert.Equal(3, (await h.Admin.GetJsonAsync($"/api/disputes?due_before={DateTimeOffset.UtcNow.AddDays(8).ToUnixTimeSeconds()}")).Body["data"]!.AsArray().Count);
        (await h.Admin.GetJsonAsync("/api/disputes?status=bogus")).AssertProblem(HttpStatusCode.BadRequest);
        (await h.Admin.GetJsonAsync("/api/disputes?due_before=tomorrow")).AssertProblem(HttpStatusCode.BadRequest);

        var summary = (await h.Admin.GetJsonAsync("/api/disputes/summary")).Body;
        Assert.Equal(2, (int)summary["open"]!);
        Assert.Equal(5000, (long)summary["amount_at_risk"]!["usd"]!);
        Assert.Equal([2000L, 3000L], summary["next_deadlines"]!.AsArray().Select(d => (long)d!["amount"]!));
        Assert.Equal(0.0, (double)summary["win_rate"]!);
        Assert.Equal(1, (int)summary["lost"]!);
    }
}
