using System.Security.Claims;
using Billing.Domain;
using Billing.Domain.Invoicing;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Billing.Functions.Invoices;

/// <summary>
/// <c>/api/coupons</c>, <c>/api/tax-rates</c> and <c>/api/credit-notes</c>: the reusable discount and tax definitions
/// that subscriptions and invoices refer to by id, and credit notes against finalized invoices. Admin only.
/// </summary>
public static class CouponsAndTaxRatesApi
{
    public static IEndpointRouteBuilder MapCouponsTaxRatesAndCreditNotesApi(this IEndpointRouteBuilder routes)
    {
        var coupons = routes.MapGroup("/api/coupons").WithTags("Coupons").RequireAuthorization(AuthSetup.AdminPolicy);
        coupons.MapPost("/", async (CouponCreateRequest body, BillingReferences references, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            errors.AddIf(body.Id is not null && !BillingReferences.IsCouponId(body.Id), "id", "Must be 1 to 64 letters, digits, '-' or '_'.");
            errors.AddIf(body.Duration is null, "duration", "Is required: once, repeating or forever.");
            errors.AddIf(body.Name is { Length: > 100 }, "name", "Must be at most 100 characters.");
            errors.ThrowIfAny();
            var now = clock.GetUtcNow();
            var coupon = Coupon.Create(body.Id ?? Ids.New("co", now), body.Name, body.PercentOff, body.AmountOff, body.Currency, body.Duration!.Value, body.DurationInMonths, now,
                body.MaxRedemptions, body.RedeemBy);
            await references.CreateCouponAsync(coupon, cancellationToken);
            return TypedResults.Created($"/api/coupons/{coupon.Id}", CouponResponse.From(coupon));
        }).WithSummary("Create a coupon");
        coupons.MapGet("/", async (HttpRequest request, BillingReferences references, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            string? after = request.Query["starting_after"];
            errors.AddIf(after is not null && !BillingReferences.IsCouponId(after), "starting_after", "Must be the id of a coupon from a previous page.");
            var limit = request.Query.ContainsKey("limit")
                ? (int.TryParse(request.Query["limit"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var l) && l is >= 1 and <= Paging.MaxLimit ? l : 0)
                : Paging.DefaultLimit;
            errors.AddIf(limit == 0, "limit", $"Must be a whole number from 1 to {Paging.MaxLimit}.");
            errors.ThrowIfAny();
            var page = await references.ListCouponsAsync(limit, after, cancellationToken);
            return TypedResults.Ok(new ListResponse<CouponResponse>([.. page.Data.Select(CouponResponse.From)], page.HasMore, "/api/coupons"));
        }).WithSummary("List coupons by id");
        coupons.MapGet("/{id}", async (string id, BillingReferences references, CancellationToken cancellationToken) =>
            TypedResults.Ok(CouponResponse.From(await references.CouponAsync(id, cancellationToken) ?? throw new NotFoundException("coupon", id))))
            .WithSummary("Retrieve a coupon");

        var rates = routes.MapGroup("/api/tax-rates").WithTags("Tax rates").RequireAuthorization(AuthSetup.AdminPolicy);
        rates.MapPost("/", async (TaxRateCreateRequest body, BillingReferences references, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            errors.AddIf(body.Percentage is null, "percentage", "Is required.");
            errors.ThrowIfAny();
            var now = clock.GetUtcNow();
            var rate = TaxRate.Create(Ids.New(TaxRate.IdPrefix, now), body.DisplayName, body.Percentage!.Value, body.Inclusive ?? false, body.Jurisdiction, now);
            await references.CreateTaxRateAsync(rate, cancellationToken);
            return TypedResults.Created($"/api/tax-rates/{rate.Id}", TaxRateResponse.From(rate));
        }).WithSummary("Create a tax rate");
        rates.MapGet("/", async (HttpRequest request, BillingReferences references, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, TaxRate.IdPrefix, errors);
            errors.ThrowIfAny();
            var page = await references.ListTaxRatesAsync(paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<TaxRateResponse>([.. page.Data.Select(TaxRateResponse.From)], page.HasMore, "/api/tax-rates"));
        }).WithSummary("List tax rates, newest first");
        rates.MapGet("/{id}", async (string id, BillingReferences references, CancellationToken cancellationToken) =>
            TypedResults.Ok(TaxRateResponse.From(await references.TaxRateAsync(id, cancellationToken) ?? throw new NotFoundException("tax_rate", id))))
            .WithSummary("Retrieve a tax rate");

        var notes = routes.MapGroup("/api/credit-notes").WithTags("Credit notes").RequireAuthorization(AuthSetup.AdminPolicy);
        notes.MapPost("/", async Task<Results<Created<CreditNoteResponse>, ProblemHttpResult>> (CreditNoteCreateRequest body, HttpRequest request, ClaimsPrincipal user,
            InvoiceService service, RefundCreditNoteService refunds, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            errors.AddIf(string.IsNullOrEmpty(body.Invoice), "invoice", "Is required.");
            errors.ThrowIfAny();
            var invoice = (await service.Store.FindInvoiceAsync(body.Invoice!, cancellationToken))?.Value ?? throw DomainValidationException.For("invoice", $"No such invoice: '{body.Invoice}'.");
            var lines = body.Lines?.Select((l, i) =>
            {
                if (l is null)
                {
                    errors.Add($"lines[{i}]", "Must be a line object.");
                    return new CreditNoteLineInput("", 0, null);
                }

                errors.AddIf(l.InvoiceLine is null, $"lines[{i}].invoice_line", "Is required.");
                errors.AddIf(l.Amount is null, $"lines[{i}].amount", "Is required.");
                return new CreditNoteLineInput(l.InvoiceLine ?? "", l.Amount ?? 0, l.Description);
            }).ToList();
            errors.ThrowIfAny();
            var input = new CreditNoteInput
            {
                Amount = body.Amount,
                Lines = lines,
                Outcome = body.Outcome ?? (invoice.Status == InvoiceStatus.Paid ? CreditNoteOutcome.CreditBalance : CreditNoteOutcome.ReduceAmountDue),
                Reason = body.Reason,
                Memo = body.Memo,
            };
            if (input.Outcome != CreditNoteOutcome.Refund)
            {
                var (note, _) = await service.IssueCreditNoteAsync(invoice.Id, input, cancellationToken);
                return TypedResults.Created($"/api/credit-notes/{note.Id}", CreditNoteResponse.From(note));
            }

            // Money moves: like refunds, only under an Idempotency-Key, which names the credit note for every retry.
            if (Payments.PaymentsApi.RequestKey(request, user) is not { } requestKey)
            {
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Idempotency-Key required",
                    detail: "A refund credit note moves money: send an Idempotency-Key header (1 to 255 printable characters) so a retried request can never refund twice.",
                    extensions: new Dictionary<string, object?> { ["code"] = "idempotency_key_required" });
            }

            var (refunded, _) = await refunds.IssueAsync(invoice.Id, input, requestKey, Payments.PaymentsApi.Hash(body), cancellationToken);
            if (refunded is { Status: CreditNoteStatus.Void, Refund: { } failed })
            {
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status409Conflict,
                    title: "Refund failed",
                    detail: $"The payment processor did not refund the payment ({failed.FailureReason}); credit note {refunded.Id} was voided and the invoice is unchanged. Credit the customer balance instead, or retry with a new Idempotency-Key.",
                    extensions: new Dictionary<string, object?> { ["code"] = "refund_failed", ["credit_note"] = refunded.Id, ["failure_reason"] = failed.FailureReason });
            }

            return TypedResults.Created($"/api/credit-notes/{refunded.Id}", CreditNoteResponse.From(refunded));
        }).WithSummary("Issue a credit note against a finalized invoice (outcome refund: Idempotency-Key required; 409 refund_failed when the processor refuses)");
        notes.MapGet("/", async (HttpRequest request, ClaimsPrincipal user, InvoiceService service, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, CreditNote.IdPrefix, errors);
            var customer = Subscriptions.SubscriptionsApi.ScopedCustomer(request, user, errors);
            string? invoice = request.Query["invoice"];
            errors.AddIf(invoice is not null && !Ids.IsValid(invoice, Invoice.IdPrefix), "invoice", "Must be an invoice id.");
            errors.ThrowIfAny();
            var page = await service.Store.ListCreditNotesAsync(customer, invoice, paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<CreditNoteResponse>([.. page.Data.Select(CreditNoteResponse.From)], page.HasMore, "/api/credit-notes"));
        }).WithSummary("List credit notes, newest first (filter by customer, invoice)");
        notes.MapGet("/{id}", async (string id, InvoiceService service, CancellationToken cancellationToken) =>
            TypedResults.Ok(CreditNoteResponse.From((await service.Store.FindCreditNoteAsync(id, cancellationToken))?.Value ?? throw new NotFoundException("credit_note", id))))
            .WithSummary("Retrieve a credit note");

        return routes;
    }
}
