using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.TestClocks;
using Billing.Functions.Auth;
using Billing.Functions.Customers;
using Billing.Functions.Notifications;
using Billing.Functions.Storage;

namespace Billing.Functions.Invoices;

/// <summary>
/// A coupon applied to a customer (Stripe's <c>customer.discount</c>), stored on the customer row. It starts when it is
/// applied (on the customer's clock, so <c>duration_in_months</c> counts from then) and reduces every invoice of the
/// customer — subscription renewals and standalone invoices — that has no discount of its own.
/// </summary>
public sealed class CustomerDiscountService(
    TableInvoicingStore store,
    ICustomerStore customers,
    BillingReferences references,
    CouponRedemptions redemptions,
    IBillingClock clock,
    INotifier notifier)
{
    private const int MaxAttempts = 60;

    /// <summary>
    /// Applies the coupon of <paramref name="body"/> (replacing any other discount of the customer), counting one redemption. The
    /// coupon the customer already has is a no-op; one it had before is 409 <c>coupon_already_redeemed</c>.
    /// </summary>
    public async Task<Customer> ApplyAsync(string customerId, CustomerDiscountRequest body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var customer = await customers.GetAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId);
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrEmpty(body.Coupon), "coupon", "Is required.");
        errors.AddIf(!string.IsNullOrEmpty(body.Coupon) && await references.CouponAsync(body.Coupon, cancellationToken) is null, "coupon", $"No such coupon: '{body.Coupon}'.");
        errors.ThrowIfAny();
        customer.EnsureCanBeCharged();
        if (string.Equals(customer.Discount?.Coupon.Id, body.Coupon, StringComparison.Ordinal))
        {
            return customer;
        }

        var now = await clock.NowForAsync(customer, cancellationToken);
        CouponReservation reservation;
        try
        {
            reservation = await redemptions.ReserveAsync(body.Coupon!, customerId, customerId, null, now, cancellationToken);
        }
        catch (InvalidStateException e) when (e.Code == "coupon_already_redeemed")
        {
            // A concurrent duplicate of this request may have applied it meanwhile: then this one is a no-op too.
            var current = await customers.GetAsync(customerId, cancellationToken);
            if (current is not null && string.Equals(current.Discount?.Coupon.Id, body.Coupon, StringComparison.Ordinal))
            {
                return current;
            }

            throw;
        }

        try
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var stored = await store.GetCustomerAsync(customerId, cancellationToken) ?? throw new NotFoundException("customer", customerId);
                if (string.Equals(stored.Value.Discount?.Id, reservation.Discount.Id, StringComparison.Ordinal))
                {
                    return stored.Value; // a concurrent duplicate of this request saved it
                }

                var updated = stored.Value.ApplyDiscount(reservation.Discount);
                var batch = reservation.AddTo(new PartitionBatch(customerId).Replace(TableCustomerStore.Row, updated, stored.ETag));
                if (await batch.TrySubmitAsync(store.Client, cancellationToken))
                {
                    var type = stored.Value.Discount is null ? "customer.discount.created" : "customer.discount.updated";
                    await notifier.PublishAsync(type, customerId, DiscountResponse.From(updated.Discount)!, $"{type}:{customerId}:{reservation.Discount.Id}", cancellationToken);
                    return updated;
                }

                await redemptions.EnsureStillReservedAsync(reservation, cancellationToken);
                await Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);
            }

            throw new ConcurrencyConflictException("The customer was changed concurrently too many times; retry the request.");
        }
        finally
        {
            await redemptions.SettleQuietlyAsync(reservation);
        }
    }

    /// <summary>
    /// Removes the customer's discount (404 when there is none). Drafts that already use it keep it; the redemption
    /// stays counted, as in Stripe.
    /// </summary>
    public async Task<Customer> RemoveAsync(string customerId, CancellationToken cancellationToken = default)
    {
        // One read-modify-write: the discount published as removed is the one the saved change removed.
        Domain.Invoicing.Discount? removed = null;
        var updated = await customers.UpdateAsync(customerId, c =>
        {
            removed = c.Discount ?? throw new NotFoundException("discount", customerId);
            return c.RemoveDiscount();
        }, cancellationToken);
        await notifier.PublishAsync("customer.discount.deleted", customerId, DiscountResponse.From(removed)!, $"customer.discount.deleted:{customerId}:{removed!.Id}", cancellationToken);
        return updated;
    }
}

/// <summary>
/// <c>POST /api/customers/{id}/discount</c> (apply a coupon to the customer) and <c>DELETE /api/customers/{id}/discount</c>
/// (remove it). Admin only: a customer token may edit its customer's profile (<c>PATCH</c>), but never grant itself a
/// discount, which is why the coupon is not a field of that <c>PATCH</c>.
/// </summary>
public static class CustomerDiscountsApi
{
    public static IEndpointRouteBuilder MapCustomerDiscountsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/customers/{id}/discount").WithTags("Customers").RequireAuthorization(AuthSetup.AdminPolicy);

        group.MapPost("/", async (string id, CustomerDiscountRequest body, CustomerDiscountService discounts, CancellationToken cancellationToken) =>
            TypedResults.Ok(CustomerResponse.From(await discounts.ApplyAsync(id, body, cancellationToken))))
            .WithSummary("Apply a coupon to the customer: it discounts each of its invoices that has no discount of its own");

        group.MapDelete("/", async (string id, CustomerDiscountService discounts, CancellationToken cancellationToken) =>
            TypedResults.Ok(CustomerResponse.From(await discounts.RemoveAsync(id, cancellationToken))))
            .WithSummary("Remove the customer's discount (invoices already drafted keep theirs)");

        return routes;
    }
}
