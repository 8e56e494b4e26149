using System.Net.Mime;
using System.Security.Claims;
using Billing.Domain;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Subscriptions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Billing.Functions.Invoices;

/// <summary>
/// <c>/api/invoices</c>: standalone drafts with one-off items, reads and lists (newest first), draft edits (fields,
/// discount, one-off lines) and deletion, finalize (numbered, PDF stored once), void, mark uncollectible, pay (collect,
/// or record a payment made outside) and the PDF. Admin only, except reads and the PDF, which a customer token gets for
/// its own invoices.
/// </summary>
public static class InvoicesApi
{
    public static IEndpointRouteBuilder MapInvoicesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/invoices").WithTags("Invoices");

        group.MapPost("/", async (InvoiceCreateRequest body, InvoiceService service, BillingReferences references, CancellationToken cancellationToken) =>
        {
            var invoice = await service.CreateStandaloneAsync(body, references, cancellationToken);
            return TypedResults.Created($"/api/invoices/{invoice.Id}", InvoiceResponse.From(invoice));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Create a draft invoice with one-off items (and the customer's pending items)");

        group.MapGet("/", async (HttpRequest request, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Invoice.IdPrefix, errors);
            var customer = SubscriptionsApi.ScopedCustomer(request, user, errors);
            string? status = request.Query["status"];
            string? subscription = request.Query["subscription"];
            errors.AddIf(status is not null && !Enum.GetValues<InvoiceStatus>().Any(s => Subscription.Wire(s) == status), "status", "Must be draft, open, paid, void or uncollectible.");
            errors.AddIf(subscription is not null && !Ids.IsValid(subscription, Subscription.IdPrefix), "subscription", "Must be a subscription id.");
            errors.ThrowIfAny();
            var page = await service.Store.ListInvoicesAsync(customer, status, subscription, paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<InvoiceResponse>([.. page.Data.Select(i => InvoiceResponse.From(i))], page.HasMore, "/api/invoices"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List invoices, newest first (filter by customer, status, subscription)");

        group.MapGet("/{id}", async (string id, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
        {
            var invoice = await LoadAsync(id, user, service, cancellationToken);
            return TypedResults.Ok(await WithPaymentAsync(invoice, service, cancellationToken));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve an invoice");

        group.MapPatch("/{id}", async (string id, InvoiceUpdateRequest body, InvoiceService service, BillingReferences references, CancellationToken cancellationToken) =>
            TypedResults.Ok(InvoiceResponse.From(await service.UpdateDraftAsync(id, body, references, cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("Edit a draft: description, footer, collection method and due date, coupon, default tax rates, metadata (409 once finalized)");

        group.MapDelete("/{id}", async (string id, InvoiceService service, CancellationToken cancellationToken) =>
            TypedResults.Ok(new DeletedInvoiceResponse((await service.DeleteDraftAsync(id, cancellationToken)).Id)))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("Delete a standalone draft (its prorations become pending again); subscription drafts and finalized invoices are 409");

        group.MapPost("/{id}/lines", async (string id, InvoiceLinesRequest body, InvoiceService service, BillingReferences references, CancellationToken cancellationToken) =>
            TypedResults.Ok(InvoiceResponse.From(await service.AddLinesAsync(id, body, references, cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("Add one-off lines to a draft; totals are recomputed");

        group.MapDelete("/{id}/lines/{lineId}", async (string id, string lineId, InvoiceService service, CancellationToken cancellationToken) =>
            TypedResults.Ok(InvoiceResponse.From(await service.RemoveLineAsync(id, lineId, cancellationToken))))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("Remove a one-off line from a draft; totals are recomputed");

        group.MapPost("/{id}/finalize", async (string id, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
        {
            var located = await service.LoadAsync(id, cancellationToken);
            var invoice = await service.FinalizeAsync(located.Value.CustomerId, id, SubscriptionsApi.Actor(user), cancellationToken);
            return TypedResults.Ok(InvoiceResponse.From(invoice));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Finalize a draft: number it, apply the customer balance, store its PDF");

        group.MapPost("/{id}/void", (string id, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
            TransitionAsync(id, user, service, (i, now) => i.Void(now), cancellationToken))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Void an open or uncollectible invoice");

        group.MapPost("/{id}/mark-uncollectible", (string id, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
            TransitionAsync(id, user, service, (i, now) => i.MarkUncollectible(now), cancellationToken))
            .RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Mark an open invoice uncollectible (bad debt)");

        group.MapPost("/{id}/pay", async Task<Results<Ok<InvoiceResponse>, ProblemHttpResult>> (string id, InvoicePayRequest? body, ClaimsPrincipal user, InvoiceService service,
            CancellationToken cancellationToken) =>
        {
            var located = await service.LoadAsync(id, cancellationToken);
            var customerId = located.Value.CustomerId;
            if (body?.PaidOutOfBand == true)
            {
                var paid = await service.TransitionAsync(customerId, id, (i, now) => i.Pay(now, outOfBand: true), SubscriptionsApi.Actor(user), cancellationToken);
                return TypedResults.Ok(InvoiceResponse.From(paid));
            }

            if (located.Value.Status is not (InvoiceStatus.Open or InvoiceStatus.Uncollectible))
            {
                throw new InvalidStateException($"Invoice '{id}' is {Subscription.Wire(located.Value.Status)} and cannot be paid.", "invoice_not_open_or_uncollectible");
            }

            var (invoice, attempt) = await service.CollectAsync(customerId, id, offSession: true, newAttempt: true, cancellationToken);
            if (attempt is { Status: not CollectionStatus.Succeeded } && invoice.Status != InvoiceStatus.Paid)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status402PaymentRequired, title: "Payment failed",
                    detail: attempt.Message ?? "The payment did not succeed.", extensions: new Dictionary<string, object?>
                    {
                        ["code"] = attempt.Status == CollectionStatus.RequiresAction ? "authentication_required" : "payment_failed",
                        ["decline_code"] = attempt.DeclineCode,
                        ["payment"] = PaymentResponse.From(attempt),
                    });
            }

            return TypedResults.Ok(InvoiceResponse.From(invoice, attempt));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Pay an invoice now with the customer's default payment method, or record an out-of-band payment");

        group.MapGet("/{id}/pdf", async (string id, ClaimsPrincipal user, InvoiceService service, InvoiceDocuments documents, HttpContext context, CancellationToken cancellationToken) =>
        {
            var invoice = await LoadAsync(id, user, service, cancellationToken);
            if (invoice.Number is null)
            {
                throw new InvalidStateException($"Invoice '{id}' is a draft; its PDF exists once it is finalized.", "invoice_not_finalized");
            }

            var blob = documents.Blob(invoice);
            if (!await blob.ExistsAsync(cancellationToken))
            {
                await documents.EnsureAsync(invoice, await service.CustomerAsync(invoice.CustomerId, cancellationToken), cancellationToken);
            }

            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            context.Response.Headers.ETag = download.Value.Details.ETag.ToString("H");
            return TypedResults.Stream(download.Value.Content, MediaTypeNames.Application.Pdf, invoice.Number + ".pdf");
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Download the invoice PDF");

        return routes;
    }

    private static async Task<Ok<InvoiceResponse>> TransitionAsync(string id, ClaimsPrincipal user, InvoiceService service,
        Func<Invoice, DateTimeOffset, Invoice> change, CancellationToken cancellationToken)
    {
        var located = await service.LoadAsync(id, cancellationToken);
        var invoice = await service.TransitionAsync(located.Value.CustomerId, id, change, SubscriptionsApi.Actor(user), cancellationToken);
        return TypedResults.Ok(InvoiceResponse.From(invoice));
    }

    private static async Task<Invoice> LoadAsync(string id, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken)
    {
        var invoice = (await service.LoadAsync(id, cancellationToken)).Value;
        user.EnsureCanAccess(invoice.CustomerId, "invoice", id);
        return invoice;
    }

    private static async Task<InvoiceResponse> WithPaymentAsync(Invoice invoice, InvoiceService service, CancellationToken cancellationToken)
    {
        var attempts = await service.Store.AttemptsAsync(invoice.CustomerId, invoice.Id, cancellationToken);
        return InvoiceResponse.From(invoice, attempts.Count > 0 ? attempts[^1].Value : null);
    }
}
