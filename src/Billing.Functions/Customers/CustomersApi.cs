using System.Security.Claims;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Scheduling;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.TestClocks;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Customers;

/// <summary>
/// <c>/api/customers</c>: create, read, update, list (newest first) and soft-delete customers, and issue customer
/// tokens. A customer token reads and updates only its own customer; every other customer is 404 to it.
/// </summary>
public static class CustomersApi
{
    public static IEndpointRouteBuilder MapCustomersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/customers").WithTags("Customers");

        group.MapPost("/", async (CustomerInput body, ICustomerStore store, TestClockStore clocks, IOptions<TestClockOptions> testClocks, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            if (body.TestClock is not null && (!testClocks.Value.Enabled || await clocks.GetAsync(body.TestClock, cancellationToken) is null))
            {
                throw DomainValidationException.For("test_clock", testClocks.Value.Enabled ? $"No such test clock: '{body.TestClock}'." : "Test clocks are disabled.");
            }

            var now = clock.GetUtcNow();
            var customer = Customer.Create(body, Ids.New(Customer.IdPrefix, now), now);
            await store.CreateAsync(customer, cancellationToken);
            return TypedResults.Created($"/api/customers/{customer.Id}", CustomerResponse.From(customer));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Create a customer");

        group.MapGet("/", async (HttpRequest request, ICustomerStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Customer.IdPrefix, errors);
            errors.ThrowIfAny();
            var page = await store.ListAsync(paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<CustomerResponse>([.. page.Data.Select(CustomerResponse.From)], page.HasMore, "/api/customers"));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("List customers, newest first");

        group.MapGet("/{id}", async (string id, ClaimsPrincipal user, ICustomerStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(CustomerResponse.From(await LoadAsync(id, user, store, cancellationToken))))
            .RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Retrieve a customer");

        group.MapPatch("/{id}", async (string id, CustomerInput body, ClaimsPrincipal user, ICustomerStore store, CancellationToken cancellationToken) =>
        {
            await LoadAsync(id, user, store, cancellationToken);
            var updated = await store.UpdateAsync(id, customer => customer.Apply(body), cancellationToken);
            return TypedResults.Ok(CustomerResponse.From(updated));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("Update a customer (metadata merges; an empty value removes a key)");

        group.MapDelete("/{id}", async (string id, ICustomerStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var deleted = await store.UpdateAsync(id, customer => customer.Deleted ? customer : customer.Delete(clock.GetUtcNow()), cancellationToken);
            return TypedResults.Ok(CustomerResponse.From(deleted));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Delete a customer (records are kept; no new subscriptions or payments)");

        group.MapGet("/{id}/schedule", async (string id, ClaimsPrincipal user, ICustomerStore store, IScheduleStore schedule, CancellationToken cancellationToken) =>
        {
            var customer = await LoadAsync(id, user, store, cancellationToken);
            var pending = await schedule.ListForCustomerAsync(customer.Id, cancellationToken);
            return TypedResults.Ok(new ListResponse<ScheduledWorkResponse>([.. pending.Select(ScheduledWorkResponse.From)], false, $"/api/customers/{id}/schedule"));
        }).RequireAuthorization(AuthSetup.CustomerPolicy).WithSummary("What is scheduled for this customer: renewals, retries, reminders, soonest first");

        group.MapPost("/{id}/sessions", async (string id, SessionRequest? body, ICustomerStore store, CustomerTokens tokens, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            errors.AddIf(body?.TtlSeconds is < 60 or > 86_400, "ttl_seconds", "Must be between 60 and 86400 seconds.");
            errors.ThrowIfAny();
            var customer = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("customer", id);
            customer.EnsureCanBeCharged();
            var (token, expiresAt) = tokens.Issue(customer.Id, body?.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : null);
            return TypedResults.Created($"/api/customers/{id}", new SessionResponse(token, customer.Id, expiresAt));
        }).RequireAuthorization(AuthSetup.AdminPolicy).WithSummary("Issue a short-lived token scoped to this customer, for browser clients");

        return routes;
    }

    /// <summary>Loads a customer the caller may see, or throws 404.</summary>
    public static async Task<Customer> LoadAsync(string id, ClaimsPrincipal user, ICustomerStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        user.EnsureCanAccess(id, "customer", id);
        return await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("customer", id);
    }
}

/// <summary>One pending step of a customer's billing processes: what, on which object, when, and on which clock.</summary>
public sealed record ScheduledWorkResponse(string Kind, string Target, DateTimeOffset DueAt, string? Detail, string? TestClock)
{
    public string Object => "scheduled_work";

    public static ScheduledWorkResponse From(DueWork w)
    {
        ArgumentNullException.ThrowIfNull(w);
        return new(w.Kind, w.TargetId, w.DueAt, w.Detail, w.ClockId);
    }
}

/// <summary>Body of <c>POST /api/customers/{id}/sessions</c>.</summary>
public sealed record SessionRequest(int? TtlSeconds);

/// <summary>A customer token and when it expires.</summary>
public sealed record SessionResponse(string Token, string Customer, DateTimeOffset ExpiresAt)
{
    public string Object => "customer_session";
}

/// <summary>A customer on the wire.</summary>
public sealed record CustomerResponse(
    string Id,
    string? Email,
    string? Name,
    Address? BillingAddress,
    string? PreferredCurrency,
    string TimeZone,
    IReadOnlyList<TaxId> TaxIds,
    IReadOnlyDictionary<string, string> Metadata,
    string InvoicePrefix,
    DateTimeOffset Created,
    string? TestClock,
    bool Deleted,
    DateTimeOffset? DeletedAt,
    Invoices.DiscountResponse? Discount)
{
    public string Object => "customer";

    public static CustomerResponse From(Customer c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new(c.Id, c.Email, c.Name, c.BillingAddress, c.PreferredCurrency?.ToLowerInvariant(), c.TimeZone, c.TaxIds, c.Metadata, c.InvoicePrefix, c.Created, c.TestClockId, c.Deleted, c.DeletedAt,
            Invoices.DiscountResponse.From(c.Discount));
    }
}
