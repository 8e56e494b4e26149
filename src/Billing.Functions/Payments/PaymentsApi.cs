using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Billing.Domain;
using Billing.Domain.Payments;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Idempotency;
using Billing.Functions.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Billing.Functions.Payments;

/// <summary>
/// <c>/api/payments</c>: one-off card payments (an <c>Idempotency-Key</c> is required: it names the payment, so a retry
/// after any failure resumes the same payment and never charges twice), their history (newest first; a customer token
/// sees only its own), and refunds (admins; never more than what remains, even under concurrency).
/// </summary>
public static class PaymentsApi
{
    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/payments").WithTags("Payments");

        group.MapPost("/", async Task<Results<Created<PaymentResponse>, ProblemHttpResult>> (HttpRequest request, PaymentInput body, ClaimsPrincipal user, PaymentService service, CancellationToken cancellationToken) =>
        {
            if (RequestKey(request, user) is not { } requestKey)
            {
                return MissingKey();
            }

            if (body.Customer is { } customer)
            {
                user.EnsureCanAccess(customer, "customer", customer);
            }

            var payment = await service.ChargeAsync(body, requestKey, Hash(body), cancellationToken);
            return TypedResults.Created($"/api/payments/{payment.Id}", PaymentResponse.From(payment));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Charge a customer once (Idempotency-Key required); 402 when declined");

        group.MapGet("/{id}", async (string id, ClaimsPrincipal user, IPaymentStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(PaymentResponse.From(await LoadAsync(id, user, store, cancellationToken))))
            .RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve a payment");

        group.MapGet("/", async (HttpRequest request, ClaimsPrincipal user, IPaymentStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Payment.IdPrefix, errors);
            string? customer = request.Query["customer"];
            var status = ParseStatus(request.Query["status"], errors);
            var from = ParseTime(request.Query["created[gte]"], "created[gte]", errors);
            var before = ParseTime(request.Query["created[lt]"], "created[lt]", errors);
            errors.ThrowIfAny();
            if (user.CustomerScope() is { } scope)
            {
                if (customer is not null)
                {
                    user.EnsureCanAccess(customer, "customer", customer);
                }

                customer = scope;
            }
            else if (customer is not null && !Ids.IsValid(customer, Domain.Customers.Customer.IdPrefix))
            {
                return TypedResults.Ok(new ListResponse<PaymentResponse>([], false, "/api/payments"));
            }

            var page = await store.ListAsync(new PaymentQuery(customer, status, from, before, paging.Limit, paging.StartingAfter), cancellationToken);
            return TypedResults.Ok(new ListResponse<PaymentResponse>([.. page.Data.Select(PaymentResponse.From)], page.HasMore, "/api/payments"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List payments, newest first (customer, status, created[gte], created[lt])");

        group.MapPost("/{id}/refunds", async Task<Results<Created<RefundResponse>, ProblemHttpResult>> (string id, HttpRequest request, RefundInput? body, ClaimsPrincipal user, IPaymentStore store, PaymentService service, CancellationToken cancellationToken) =>
        {
            if (RequestKey(request, user) is not { } requestKey)
            {
                return MissingKey();
            }

            body ??= new RefundInput();
            var payment = await LoadAsync(id, user, store, cancellationToken);
            var (refund, _) = await service.RefundAsync(payment, body, requestKey, Hash(body), cancellationToken);
            return TypedResults.Created($"/api/payments/{id}/refunds", RefundResponse.From(refund));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Refund part or all of a payment (Idempotency-Key required)");

        group.MapGet("/{id}/refunds", async (string id, HttpRequest request, ClaimsPrincipal user, IPaymentStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Refund.IdPrefix, errors);
            errors.ThrowIfAny();
            var payment = await LoadAsync(id, user, store, cancellationToken);
            var page = await store.ListRefundsAsync(payment.CustomerId, payment.Id, paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<RefundResponse>([.. page.Data.Select(RefundResponse.From)], page.HasMore, $"/api/payments/{id}/refunds"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List a payment's refunds, newest first");

        return routes;
    }

    /// <summary>Loads a payment the caller may see, or throws 404.</summary>
    public static async Task<Payment> LoadAsync(string id, ClaimsPrincipal user, IPaymentStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var payment = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("payment", id);
        user.EnsureCanAccess(payment.CustomerId, "payment", id);
        return payment;
    }

    /// <summary>The caller-scoped form of the request's Idempotency-Key (the middleware already checked its shape), or null.</summary>
    internal static string? RequestKey(HttpRequest request, ClaimsPrincipal user)
    {
        var key = request.Headers[IdempotencyMiddleware.Header].ToString();
        return key.Length == 0 ? null : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user.Actor() + "\n" + key)));
    }

    internal static string Hash<T>(T body) => Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(body, StorageJson.Options)));

    private static ProblemHttpResult MissingKey() => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: "Idempotency-Key required",
        detail: "Send an Idempotency-Key header (1 to 255 printable characters) so a retried request can never charge or refund twice.",
        extensions: new Dictionary<string, object?> { ["code"] = "idempotency_key_required" });

    private static PaymentStatus? ParseStatus(string? raw, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        foreach (var status in Enum.GetValues<PaymentStatus>())
        {
            if (JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString()) == raw)
            {
                return status;
            }
        }

        errors.Add("status", "Must be a payment status such as 'succeeded' or 'requires_action'.");
        return null;
    }

    /// <summary>Unix seconds (Stripe's style) or an ISO 8601 timestamp.</summary>
    private static DateTimeOffset? ParseTime(string? raw, string field, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        if (long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 253_402_300_800)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        errors.Add(field, "Must be Unix seconds or an ISO 8601 timestamp.");
        return null;
    }
}

/// <summary>The customer's next step on a payment that needs authentication.</summary>
public sealed record NextActionResponse(string Type, string? RedirectUrl);

/// <summary>
/// A payment on the wire. <c>client_secret</c> and <c>next_action</c> appear only while the customer must act; <c>invoice</c>
/// is set on an invoice's collection payment, recorded here when it was first refunded by a credit note.
/// </summary>
public sealed record PaymentResponse(
    string Id,
    string Customer,
    long Amount,
    long AmountReceived,
    long AmountRefunded,
    long AmountRefundable,
    string Currency,
    PaymentStatus Status,
    string? Description,
    IReadOnlyDictionary<string, string> Metadata,
    string? PaymentMethod,
    bool OffSession,
    string? CardBrand,
    string? CardLast4,
    string? Invoice,
    string? StripePaymentIntentId,
    string? StripeChargeId,
    string? FailureCode,
    string? FailureMessage,
    string? DeclineCode,
    DeclineClass? DeclineClass,
    string? ClientSecret,
    NextActionResponse? NextAction,
    DateTimeOffset Created,
    DateTimeOffset Updated)
{
    public string Object => "payment";

    public static PaymentResponse From(Payment p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var acting = p.Status == PaymentStatus.RequiresAction;
        return new(p.Id, p.CustomerId, p.Amount.MinorUnits, p.AmountReceived, p.AmountRefunded, p.Refundable, p.Amount.Currency.Code.ToLowerInvariant(), p.Status,
            p.Description, p.Metadata, p.PaymentMethodId, p.OffSession, p.CardBrand, p.CardLast4, p.InvoiceId, p.GatewayPaymentId, p.GatewayChargeId,
            p.Failure?.Code, p.Failure?.Message, p.Failure?.DeclineCode, p.Failure?.Class,
            acting ? p.ClientSecret : null, acting && p.NextActionType is { } type ? new NextActionResponse(type, p.NextActionUrl) : null, p.Created, p.Updated);
    }
}

/// <summary>A refund on the wire.</summary>
public sealed record RefundResponse(
    string Id,
    string Payment,
    string Customer,
    long Amount,
    string Currency,
    RefundReason? Reason,
    RefundStatus Status,
    string? StripeRefundId,
    string? FailureReason,
    DateTimeOffset Created,
    DateTimeOffset Updated)
{
    public string Object => "refund";

    public static RefundResponse From(Refund r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.Id, r.PaymentId, r.CustomerId, r.Amount.MinorUnits, r.Amount.Currency.Code.ToLowerInvariant(), r.Reason, r.Status, r.GatewayRefundId, r.FailureReason, r.Created, r.Updated);
    }
}
