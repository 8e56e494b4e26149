using System.Security.Claims;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Payments;
using Billing.Functions.Auth;
using Billing.Functions.Customers;
using Billing.Functions.Http;

namespace Billing.Functions.Payments;

/// <summary>
/// A customer's saved cards, all stored at Stripe (we keep only ids): SetupIntents for the browser to save a card,
/// list, attach (e.g. the emulator's <c>pm_card_visa</c>), choose the default, detach. The Stripe customer is created
/// on first use. Admins, or the customer's own token.
/// </summary>
public static class PaymentMethodsApi
{
    public static IEndpointRouteBuilder MapPaymentMethodsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/customers/{id}").WithTags("Payment methods").RequireAuthorization(AuthSetup.CustomerPolicy);

        group.MapPost("/setup-intents", async (string id, HttpRequest request, ClaimsPrincipal user, ICustomerStore customers, PaymentService service, IPaymentGateway gateway, CancellationToken cancellationToken) =>
        {
            var customer = await CustomersApi.LoadAsync(id, user, customers, cancellationToken);
            customer.EnsureCanBeCharged();
            var gatewayCustomer = await service.EnsureGatewayCustomerAsync(customer, cancellationToken);
            var key = PaymentsApi.RequestKey(request, user) is { } requestKey ? $"{customer.Id}:setup:{requestKey}" : $"{customer.Id}:setup:{Guid.NewGuid():N}";
            var intent = await gateway.CreateSetupIntentAsync(gatewayCustomer, customer.Id, key, cancellationToken);
            return TypedResults.Created($"/api/customers/{id}/payment-methods", new SetupIntentResponse(intent.Id, customer.Id, intent.Status, intent.ClientSecret));
        }).WithSummary("Start saving a card in the browser: returns the SetupIntent's client_secret");

        group.MapGet("/payment-methods", async (string id, ClaimsPrincipal user, ICustomerStore customers, IPaymentGateway gateway, CancellationToken cancellationToken) =>
        {
            var customer = await CustomersApi.LoadAsync(id, user, customers, cancellationToken);
            IReadOnlyList<GatewayPaymentMethod> methods = customer.StripeCustomerId is { } gatewayCustomer ? await gateway.ListPaymentMethodsAsync(gatewayCustomer, cancellationToken) : [];
            return TypedResults.Ok(new ListResponse<PaymentMethodResponse>([.. methods.Select(m => PaymentMethodResponse.From(m, customer))], false, $"/api/customers/{id}/payment-methods"));
        }).WithSummary("List the customer's saved cards");

        group.MapPost("/payment-methods", async (string id, AttachPaymentMethodRequest body, ClaimsPrincipal user, ICustomerStore customers, PaymentService service, IPaymentGateway gateway, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            errors.AddIf(body.PaymentMethod is not { Length: > 0 and <= 255 }, "payment_method", "Required: a payment method id such as 'pm_…' (or a test token such as 'pm_card_visa').");
            errors.ThrowIfAny();
            var customer = await CustomersApi.LoadAsync(id, user, customers, cancellationToken);
            customer.EnsureCanBeCharged();
            var gatewayCustomer = await service.EnsureGatewayCustomerAsync(customer, cancellationToken);
            var method = await gateway.AttachPaymentMethodAsync(gatewayCustomer, body.PaymentMethod!, cancellationToken);
            customer = await service.SyncDefaultPaymentMethodAsync(gatewayCustomer, method.Id, cancellationToken) ?? customer;
            return TypedResults.Created($"/api/customers/{id}/payment-methods", PaymentMethodResponse.From(method, customer));
        }).WithSummary("Attach a payment method; the first one becomes the default; 402 when the card is refused");

        group.MapPost("/payment-methods/{pm}/default", async (string id, string pm, ClaimsPrincipal user, ICustomerStore customers, IPaymentGateway gateway, CancellationToken cancellationToken) =>
        {
            var (customer, method) = await LoadMethodAsync(id, pm, user, customers, gateway, cancellationToken);
            await gateway.SetDefaultPaymentMethodAsync(customer.StripeCustomerId!, method.Id, cancellationToken);
            customer = await customers.UpdateAsync(customer.Id, c => c with { DefaultPaymentMethodId = method.Id }, cancellationToken);
            return TypedResults.Ok(PaymentMethodResponse.From(method, customer));
        }).WithSummary("Make a saved card the default for payments and invoices");

        group.MapDelete("/payment-methods/{pm}", async (string id, string pm, ClaimsPrincipal user, ICustomerStore customers, IPaymentGateway gateway, PaymentService service, CancellationToken cancellationToken) =>
        {
            var (customer, method) = await LoadMethodAsync(id, pm, user, customers, gateway, cancellationToken);
            await gateway.DetachPaymentMethodAsync(method.Id, cancellationToken);
            await service.SyncDefaultPaymentMethodAsync(customer.StripeCustomerId!, null, cancellationToken);
            return TypedResults.Ok(new DetachedPaymentMethodResponse(method.Id, true));
        }).WithSummary("Remove a saved card");

        return routes;
    }

    private static async Task<(Customer Customer, GatewayPaymentMethod Method)> LoadMethodAsync(
        string id, string pm, ClaimsPrincipal user, ICustomerStore customers, IPaymentGateway gateway, CancellationToken cancellationToken)
    {
        var customer = await CustomersApi.LoadAsync(id, user, customers, cancellationToken);
        if (customer.StripeCustomerId is null || !pm.StartsWith("pm_", StringComparison.Ordinal) || pm.Length > 255
            || await gateway.GetPaymentMethodAsync(pm, cancellationToken) is not { } method || method.GatewayCustomerId != customer.StripeCustomerId)
        {
            throw new NotFoundException("payment method", pm);
        }

        return (customer, method);
    }
}

/// <summary>Body of <c>POST /api/customers/{id}/payment-methods</c>.</summary>
public sealed record AttachPaymentMethodRequest(string? PaymentMethod);

/// <summary>A SetupIntent for the browser (Stripe.js <c>confirmCardSetup</c> with the client secret).</summary>
public sealed record SetupIntentResponse(string Id, string Customer, string Status, string ClientSecret)
{
    public string Object => "setup_intent";
}

/// <summary>A saved card: brand, last 4 and expiry only.</summary>
public sealed record CardResponse(string? Brand, string? Last4, long? ExpMonth, long? ExpYear, string? Funding);

/// <summary>A payment method on the wire.</summary>
public sealed record PaymentMethodResponse(string Id, string Customer, string Type, CardResponse? Card, bool IsDefault)
{
    public string Object => "payment_method";

    public static PaymentMethodResponse From(GatewayPaymentMethod m, Customer customer)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(customer);
        return new(m.Id, customer.Id, m.Type, m.Brand is null ? null : new CardResponse(m.Brand, m.Last4, m.ExpMonth, m.ExpYear, m.Funding),
            string.Equals(customer.DefaultPaymentMethodId, m.Id, StringComparison.Ordinal));
    }
}

/// <summary>Answer of a detach.</summary>
public sealed record DetachedPaymentMethodResponse(string Id, bool Detached)
{
    public string Object => "payment_method";
}
