using System.Globalization;
using Billing.Domain.Customers;

namespace Billing.Domain.Invoicing;

/// <summary>Which invoice numbering a merchant uses.</summary>
public enum NumberingScheme
{
    /// <summary><c>{CUSTOMER_PREFIX}-0001</c>, one sequence per customer (Stripe's default).</summary>
    PerCustomer,

    /// <summary><c>INV-{yyyy}-000123</c>, one gapless sequence for the account, restarting at 1 each calendar year (UTC).</summary>
    AccountWide,
}

/// <summary>
/// The next invoice number of one sequence. A number is taken only when an invoice is finalized:
/// <c>Take(now)</c> returns the formatted number and the next state; storage keeps the state in one row updated with
/// an ETag (retry on conflict), so concurrent finalizations get unique numbers without gaps. Per customer:
/// <c>{prefix}-{n:0000}</c> (more digits past 9999); account-wide: <c>INV-{year}-{n:000000}</c>, where a new UTC year
/// restarts at 1.
/// </summary>
public sealed record NumberSequence
{
    /// <summary>Storage key: <c>customer:{id}</c> or <c>account</c>.</summary>
    public required string Key { get; init; }

    public NumberingScheme Scheme { get; init; }

    public required string Prefix { get; init; }

    /// <summary>The number the next <see cref="Take"/> hands out (starts at 1).</summary>
    public long Next { get; init; } = 1;

    /// <summary>Account-wide only: the year <see cref="Next"/> belongs to.</summary>
    public int? Year { get; init; }

    public static NumberSequence ForCustomer(Customer customer)
    {
        ArgumentNullException.ThrowIfNull(customer);
        return new NumberSequence { Key = "customer:" + customer.Id, Scheme = NumberingScheme.PerCustomer, Prefix = customer.InvoicePrefix };
    }

    public static NumberSequence AccountWide(string prefix = "INV") =>
        new() { Key = "account", Scheme = NumberingScheme.AccountWide, Prefix = prefix };

    /// <summary>Hands out the next number and returns the sequence advanced by one.</summary>
    public (string Number, NumberSequence Next) Take(DateTimeOffset now)
    {
        if (Scheme == NumberingScheme.PerCustomer)
        {
            return (string.Create(CultureInfo.InvariantCulture, $"{Prefix}-{Next:D4}"), this with { Next = Next + 1 });
        }

        var year = now.UtcDateTime.Year;
        var n = Year == year ? Next : 1;
        return (string.Create(CultureInfo.InvariantCulture, $"{Prefix}-{year:D4}-{n:D6}"), this with { Next = n + 1, Year = year });
    }
}
