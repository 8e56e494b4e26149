using System.Globalization;
using Billing.Domain.Subscriptions;

namespace Billing.Domain.Invoicing;

/// <summary>
/// Second-based proration, as Stripe does it. For a change at <c>t</c> inside period <c>[start, end)</c>:
/// <c>credit = −round(old_amount × (end − t) / (end − start))</c> on the old price and quantity, and
/// <c>charge = round(new_amount × (end − t) / (end − start))</c> on the new ones, where amounts are full-period
/// amounts and times are whole Unix seconds. Credit and charge are separate lines, each with period <c>[t, end)</c>,
/// each rounded on its own (half away from zero, exact 128-bit via <see cref="Money.MultiplyRatio"/>).
/// Works unchanged for zero-decimal currencies (JPY rounds to whole yen).
/// </summary>
public static class Proration
{
    /// <summary>Unused seconds <c>end − t</c> (0 when t is at or after the end; the whole period when t is before it).</summary>
    public static long RemainingSeconds(BillingPeriod period, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(period);
        var t = Math.Clamp(at.ToUnixTimeSeconds(), period.Start.ToUnixTimeSeconds(), period.End.ToUnixTimeSeconds());
        return period.End.ToUnixTimeSeconds() - t;
    }

    /// <summary><c>round(amount × (end − t) / (end − start))</c>.</summary>
    public static Money Remaining(Money fullPeriodAmount, BillingPeriod period, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(period);
        return fullPeriodAmount.MultiplyRatio(RemainingSeconds(period, at), period.Seconds);
    }

    /// <summary>The (negative) credit for unused time on <paramref name="fullPeriodAmount"/> from <paramref name="at"/>.</summary>
    public static Money Credit(Money fullPeriodAmount, BillingPeriod period, DateTimeOffset at) => -Remaining(fullPeriodAmount, period, at);

    /// <summary>The (positive) charge for remaining time on <paramref name="fullPeriodAmount"/> from <paramref name="at"/>.</summary>
    public static Money Charge(Money fullPeriodAmount, BillingPeriod period, DateTimeOffset at) => Remaining(fullPeriodAmount, period, at);

    /// <summary>
    /// The proration items for one item going from <paramref name="before"/> to <paramref name="after"/> (either may be
    /// null for an added or removed item) at <paramref name="at"/> in <paramref name="period"/> (the full billing-cycle
    /// period containing <paramref name="at"/>). Nothing when the price and quantity are unchanged.
    /// </summary>
    public static IReadOnlyList<PendingInvoiceItem> ForItem(string customerId, string subscriptionId, SubscriptionItem? before, SubscriptionItem? after,
        BillingPeriod period, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(period);
        if (before is not null && after is not null && before.Price == after.Price && before.Quantity == after.Quantity)
        {
            return [];
        }

        var lines = new List<PendingInvoiceItem>(2);
        var date = at.UtcDateTime.ToString("d MMM yyyy", CultureInfo.InvariantCulture);
        if (before is not null)
        {
            var credit = Credit(before.PeriodAmount(), period, at);
            if (!credit.IsZero)
            {
                lines.Add(Item(customerId, subscriptionId, before, credit, $"Unused time on {Name(before)} after {date}", period, at));
            }
        }

        if (after is not null)
        {
            var charge = Charge(after.PeriodAmount(), period, at);
            if (!charge.IsZero)
            {
                lines.Add(Item(customerId, subscriptionId, after, charge, $"Remaining time on {Name(after)} after {date}", period, at));
            }
        }

        return lines;
    }

    private static string Name(SubscriptionItem item) =>
        item.Quantity == 1 ? item.Price.ProductName : $"{item.Quantity} × {item.Price.ProductName}";

    private static PendingInvoiceItem Item(string customerId, string subscriptionId, SubscriptionItem item, Money amount, string description, BillingPeriod period, DateTimeOffset at) => new()
    {
        Id = Ids.New(PendingInvoiceItem.IdPrefix, at),
        CustomerId = customerId,
        Currency = amount.Currency.Code,
        SubscriptionId = subscriptionId,
        SubscriptionItemId = item.Id,
        Kind = InvoiceLineKind.Proration,
        Description = description,
        PeriodStart = at,
        PeriodEnd = period.End,
        Quantity = item.Quantity,
        UnitAmount = item.Price.DisplayUnitAmount,
        Amount = amount.MinorUnits,
        PriceId = item.Price.Id,
        ProductId = item.Price.ProductId,
        Created = at,
    };
}
