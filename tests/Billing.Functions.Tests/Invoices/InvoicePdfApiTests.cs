using System.Net;
using Billing.Functions.Invoices;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using UglyToad.PdfPig;

namespace Billing.Functions.Tests.Invoices;

[Collection(AppCollection.Name)]
public sealed class InvoicePdfApiTests
{
    private readonly BillingApp app;
    private readonly HttpClient admin;
    private readonly BillingScenario given;

    public InvoicePdfApiTests(AppFixture fixture)
    {
        (app, _) = ScriptedApp.For(fixture);
        admin = app.Admin();
        given = new BillingScenario(admin);
    }

    [Fact]
    public async Task The_pdf_is_stored_once_at_finalization_and_served_to_the_admin_and_its_customer_only()
    {
        var customer = await admin.CreateCustomerAsync(new { name = "山田太郎", email = "yamada@example.jp", time_zone = "Asia/Tokyo" });
        var other = await given.CustomerAsync();
        var price = await given.PriceAsync(1200, currency: "jpy");
        var sub = await given.SubscribeAsync(customer, price, quantity: 2);
        var invoice = await given.InvoiceAsync((string)sub["latest_invoice"]!);
        var number = (string)invoice["number"]!;
        Assert.Equal($"/api/invoices/{invoice["id"]}/pdf", (string?)invoice["invoice_pdf"]);

        var download = await admin.GetAsync(new Uri($"/api/invoices/{invoice["id"]}/pdf", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/pdf", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal(number + ".pdf", download.Content.Headers.ContentDisposition?.FileNameStar ?? download.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var bytes = await download.Content.ReadAsByteArrayAsync();
        using (var pdf = PdfDocument.Open(bytes))
        {
            var text = string.Concat(pdf.GetPages().Select(p => string.Concat(p.Letters.Select(l => l.Value))));
            Assert.Contains(number, text, StringComparison.Ordinal);
            Assert.Contains("山田太郎", text, StringComparison.Ordinal);
            Assert.Contains("Northwind Billing Ltd", text, StringComparison.Ordinal);
            Assert.Contains("¥2,400", text, StringComparison.Ordinal);
        }

        var documents = app.Services.GetRequiredService<InvoiceDocuments>();
        var blob = documents.Blob(new Domain.Invoicing.Invoice { Id = (string)invoice["id"]!, CustomerId = customer, Currency = "JPY" });
        var etag = (await blob.GetPropertiesAsync()).Value.ETag;
        var stored = await app.Services.GetRequiredService<Functions.Storage.TableInvoicingStore>().FindInvoiceAsync((string)invoice["id"]!);
        var cust = await app.Services.GetRequiredService<Domain.Customers.ICustomerStore>().GetAsync(customer);
        Assert.False(await documents.EnsureAsync(stored!.Value with { Description = "changed" }, cust!));
        Assert.Equal(etag, (await blob.GetPropertiesAsync()).Value.ETag);
        Assert.Equal(etag.ToString("H"), download.Headers.ETag?.ToString());

        using var ownerClient = app.WithBearer(await given.TokenAsync(customer));
        using var otherClient = app.WithBearer(await given.TokenAsync(other));
        var mine = await ownerClient.GetAsync(new Uri($"/api/invoices/{invoice["id"]}/pdf", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        Assert.Equal(bytes, await mine.Content.ReadAsByteArrayAsync());
        var theirs = await otherClient.GetAsync(new Uri($"/api/invoices/{invoice["id"]}/pdf", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
    }

    [Fact]
    public async Task A_draft_has_no_pdf_yet()
    {
        var customer = await given.CustomerAsync();
        var draft = await admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd", items = new[] { new { description = "Item", unit_amount = 100 } } });

        Assert.Null(draft.Body["invoice_pdf"]);
        var pdf = await admin.GetJsonAsync($"/api/invoices/{draft.Id()}/pdf");
        pdf.AssertProblem(HttpStatusCode.Conflict);
    }
}
