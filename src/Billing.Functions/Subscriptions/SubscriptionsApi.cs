using System.Security.Claims;
using Billing.Domain;
using Billing.Domain.Subscriptions;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Idempotency;
using Billing.Functions.Invoices;

namespace Billing.Functions.Subscriptions;

/// <summary>
/// <c>/api/subscriptions</c>: create (first invoice finalized and collected), read, list, change items with prorations,
/// cancel at period end or now, pause and resume, history and proration previews. Admin only, except reading: a customer
/// token reads its own customer's subscriptions.
/// </summary>
public static class SubscriptionsApi
{
    public static IEndpointRouteBuilder MapSubscriptionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/subscriptions").WithTags("Subscriptions");

        group.MapPost("/", async (SubscriptionCreateRequest body, HttpContext context, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            string? key = context.Request.Headers[IdempotencyMiddleware.Header];
            var subscription = await service.CreateAsync(body, string.IsNullOrEmpty(key) ? null : key, Actor(context.User), cancellationToken);
            return TypedResults.Created($"/api/subscriptions/{subscription.Id}", await service.ResponseAsync(subscription, cancellationToken));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Create a subscription: its first invoice is finalized and charged (or a trial starts)");

        group.MapGet("/", async (HttpRequest request, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Subscription.IdPrefix, errors);
            var customer = ScopedCustomer(request, user, errors);
            string? status = request.Query["status"];
            errors.AddIf(status is not null && !Enum.GetValues<SubscriptionStatus>().Any(s => Subscription.Wire(s) == status), "status", "Must be a subscription status such as 'active'.");
            errors.ThrowIfAny();
            var page = await service.Store.ListSubscriptionsAsync(customer, status, paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<SubscriptionResponse>([.. page.Data.Select(s => SubscriptionResponse.From(s))], page.HasMore, "/api/subscriptions"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("List subscriptions, newest first (filter by customer, status)");

        group.MapGet("/{id}", async (string id, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var subscription = await LoadAsync(id, user, service, cancellationToken);
            return TypedResults.Ok(await service.ResponseAsync(subscription, cancellationToken));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve a subscription");

        group.MapPatch("/{id}", async (string id, SubscriptionUpdateRequest body, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var subscription = await service.UpdateAsync(id, body, Actor(user), cancellationToken);
            return TypedResults.Ok(await service.ResponseAsync(subscription, cancellationToken));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Change items (with prorations), cancel at period end, pause collection, tax rates, coupon, metadata");

        group.MapPost("/{id}/cancel", async (string id, SubscriptionCancelRequest? body, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var subscription = await service.CancelAsync(id, body, Actor(user), cancellationToken);
            return TypedResults.Ok(await service.ResponseAsync(subscription, cancellationToken));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Cancel now (optionally credit the unused time, and invoice that credit now)");

        group.MapPost("/{id}/resume", async (string id, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var subscription = await service.ResumeAsync(id, Actor(user), cancellationToken);
            return TypedResults.Ok(await service.ResponseAsync(subscription, cancellationToken));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Resume a paused subscription, or end a collection pause");

        group.MapGet("/{id}/history", async (string id, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var subscription = await LoadAsync(id, user, service, cancellationToken);
            return TypedResults.Ok(new ListResponse<HistoryEntryResponse>(
                [.. subscription.History.Reverse().Select(h => new HistoryEntryResponse(h.Version, h.At, h.Actor, h.Action, h.Changes))], false, $"/api/subscriptions/{id}/history"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Every change of a subscription, newest first");

        group.MapPost("/{id}/preview", async (string id, SubscriptionPreviewRequest body, SubscriptionService service, CancellationToken cancellationToken) =>
        {
            var (invoice, date) = await service.PreviewAsync(id, body, cancellationToken);
            return TypedResults.Ok(new ProrationPreviewResponse(id, date, invoice.Currency.ToLowerInvariant(), [.. invoice.Lines.Select(InvoiceLineResponse.From)],
                invoice.Subtotal, invoice.TotalDiscount, invoice.TotalTax, invoice.Total, Math.Max(0, invoice.Total + invoice.StartingBalance)));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Preview the prorations of an item change; nothing is saved");

        return routes;
    }

    internal static string Actor(ClaimsPrincipal user) => user.Actor() ?? Actors.System;

    /// <summary>The customer filter of a list: a customer token always lists its own customer (another one is 404).</summary>
    internal static string? ScopedCustomer(HttpRequest request, ClaimsPrincipal user, ValidationErrors errors)
    {
        string? customer = request.Query["customer"];
        errors.AddIf(customer is not null && !Ids.IsValid(customer, Domain.Customers.Customer.IdPrefix), "customer", "Must be a customer id.");
        if (user.CustomerScope() is { } scope)
        {
            user.EnsureCanAccess(customer ?? scope, "customer", customer ?? scope);
            return scope;
        }

        return customer;
    }

    private static async Task<Subscription> LoadAsync(string id, ClaimsPrincipal user, SubscriptionService service, CancellationToken cancellationToken)
    {
        var subscription = (await service.LoadAsync(id, cancellationToken)).Value;
        user.EnsureCanAccess(subscription.CustomerId, "subscription", id);
        return subscription;
    }
}
