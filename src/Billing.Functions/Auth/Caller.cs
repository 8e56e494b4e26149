using System.Security.Claims;
using Billing.Domain;

namespace Billing.Functions.Auth;

/// <summary>What the API knows about the caller: an admin API key, or a customer token scoped to one customer.</summary>
public static class Caller
{
    public const string RoleAdmin = "admin";
    public const string RoleCustomer = "customer";
    public const string CustomerClaim = "customer_id";
    public const string ActorClaim = "actor";

    public static bool IsAdmin(this ClaimsPrincipal user) => user?.IsInRole(RoleAdmin) == true;

    /// <summary>The customer a customer token is scoped to, or null for admins.</summary>
    public static string? CustomerScope(this ClaimsPrincipal user) => user?.IsInRole(RoleCustomer) == true ? user.FindFirstValue(CustomerClaim) : null;

    /// <summary>Stable identity of the caller for audit and idempotency scoping: <c>key:{id}</c> or <c>customer:{id}</c>.</summary>
    public static string? Actor(this ClaimsPrincipal user) => user?.FindFirstValue(ActorClaim);

    /// <summary>
    /// Throws <see cref="NotFoundException"/> unless the caller may see <paramref name="customerId"/>'s data: a customer
    /// token sees only its own customer, and anything else is "not found" so ids cannot be probed.
    /// </summary>
    public static void EnsureCanAccess(this ClaimsPrincipal user, string customerId, string kind, string id)
    {
        if (user.IsAdmin() || string.Equals(user.CustomerScope(), customerId, StringComparison.Ordinal))
        {
            return;
        }

        throw new NotFoundException(kind, id);
    }
}
