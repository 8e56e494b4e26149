using System.Globalization;
using Billing.Domain.Subscriptions;

namespace Billing.Domain.Invoicing;

/// <summary>
/// The identity of something already billed, taken from any stored invoice line (draft, open, paid, void or
/// uncollectible — a voided period is not billed again): a subscription item's period, or a pending item's id.
/// </summary>
public sealed record InvoicedItem(InvoiceLineKind Kind, string? SubscriptionItemId, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string? PendingItemId = null)
{
    public static InvoicedItem From(InvoiceLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return new(line.Kind, line.SubscriptionItemId, line.PeriodStart, line.PeriodEnd, line.PendingItemId);
    }

    /// <summary>Everything billed on <paramref name="invoices"/> (pass all of the customer's or subscription's invoices).</summary>
    public static IReadOnlyList<InvoicedItem> From(IEnumerable<Invoice> invoices)
    {
        ArgumentNullException.ThrowIfNull(invoices);
        return [.. invoices.SelectMany(i => i.Lines).Select(From)];
    }
}

/// <summary>
/// Kill Bill's rule for what to bill: <c>due(target) − already invoiced</c>. For each subscription, every period
/// <c>[start, end)</c> of its cycle with <c>start ≤ target</c> is due in advance, one subscription line per item
/// (the items in force at the period start, including a scheduled change), except periods in the trial, after
/// <c>ended_at</c>, at or after a <c>cancel_at</c>, while paused, or before the item existed; a partial first period is
/// due at <c>amount × partial seconds / full cycle-period seconds</c>. Pending items (prorations, one-offs) of the
/// subscription or of the customer without a subscription, created by the target date, are due once. Anything whose
/// identity (<see cref="InvoicedItem"/>: item + kind + period start, or pending item id) was already invoiced is
/// dropped, so running the generator again after recording its result yields nothing new.
/// </summary>
public static class InvoiceGenerator
{
    /// <summary>The lines due for one subscription up to <paramref name="targetDate"/>, minus what was already invoiced.</summary>
    public static IReadOnlyList<InvoiceLine> DueLines(Subscription subscription, IEnumerable<InvoicedItem> alreadyInvoiced,
        IEnumerable<PendingInvoiceItem> pending, DateTimeOffset targetDate) =>
        DueLines([subscription], alreadyInvoiced, pending, targetDate);

    /// <summary>The lines due for several subscriptions of one customer and currency; pending items appear once.</summary>
    public static IReadOnlyList<InvoiceLine> DueLines(IEnumerable<Subscription> subscriptions, IEnumerable<InvoicedItem> alreadyInvoiced,
        IEnumerable<PendingInvoiceItem> pending, DateTimeOffset targetDate)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        ArgumentNullException.ThrowIfNull(alreadyInvoiced);
        ArgumentNullException.ThrowIfNull(pending);
        var invoiced = alreadyInvoiced.ToList();
        var billedPeriods = invoiced.Where(i => i.Kind == InvoiceLineKind.Subscription && i.SubscriptionItemId is not null)
            .Select(i => (i.SubscriptionItemId!, i.PeriodStart.ToUnixTimeSeconds())).ToHashSet();
        var billedPending = invoiced.Where(i => i.PendingItemId is not null).Select(i => i.PendingItemId!).ToHashSet(StringComparer.Ordinal);
        var pendingList = pending.ToList();
        var lines = new List<InvoiceLine>();
        var pendingLines = new List<InvoiceLine>();
        foreach (var subscription in subscriptions)
        {
            ArgumentNullException.ThrowIfNull(subscription);
            lines.AddRange(SubscriptionLines(subscription, billedPeriods, targetDate));
            foreach (var item in pendingList)
            {
                var mine = string.Equals(item.SubscriptionId, subscription.Id, StringComparison.Ordinal)
                    || item.SubscriptionId is null && string.Equals(item.CustomerId, subscription.CustomerId, StringComparison.Ordinal);
                if (mine && string.Equals(item.Currency, subscription.Currency, StringComparison.OrdinalIgnoreCase) && item.Created <= targetDate && billedPending.Add(item.Id))
                {
                    pendingLines.Add(item.ToLine());
                }
            }
        }

        return [.. lines, .. pendingLines];
    }

    /// <summary>Lines for pending items alone (a standalone invoice, or invoicing prorations at once): every item not yet invoiced.</summary>
    public static IReadOnlyList<InvoiceLine> PendingLines(IEnumerable<PendingInvoiceItem> pending, IEnumerable<InvoicedItem> alreadyInvoiced)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(alreadyInvoiced);
        var billed = alreadyInvoiced.Where(i => i.PendingItemId is not null).Select(i => i.PendingItemId!).ToHashSet(StringComparer.Ordinal);
        return [.. pending.Where(p => billed.Add(p.Id)).Select(p => p.ToLine())];
    }

    private static IEnumerable<InvoiceLine> SubscriptionLines(Subscription subscription, HashSet<(string, long)> billed, DateTimeOffset target)
    {
        if (subscription.Status is SubscriptionStatus.Paused or SubscriptionStatus.IncompleteExpired)
        {
            yield break;
        }

        var recurrence = subscription.Interval();
        if (subscription.PartialFirstPeriod is { } partial && Billable(subscription, partial.Start, target))
        {
            var full = BillingPeriods.PeriodContaining(subscription.BillingCycleAnchor, recurrence, partial.Start);
            foreach (var item in subscription.ItemsFor(partial.Start))
            {
                if (item.Created <= partial.Start && billed.Add((item.Id, partial.Start.ToUnixTimeSeconds())))
                {
                    var amount = item.PeriodAmount().MultiplyRatio(partial.Seconds, full.Seconds);
                    yield return Line(subscription, item, partial, amount.MinorUnits, prorated: true);
                }
            }
        }

        for (long n = 0; ; n++)
        {
            var period = BillingPeriods.Period(subscription.BillingCycleAnchor, recurrence, n);
            if (!Billable(subscription, period.Start, target))
            {
                yield break;
            }

            foreach (var item in subscription.ItemsFor(period.Start))
            {
                if (item.Created <= period.Start && billed.Add((item.Id, period.Start.ToUnixTimeSeconds())))
                {
                    yield return Line(subscription, item, period, item.PeriodAmount().MinorUnits, prorated: false);
                }
            }
        }
    }

    private static bool Billable(Subscription s, DateTimeOffset periodStart, DateTimeOffset target) =>
        periodStart <= target
        && !s.InTrialAt(periodStart)
        && (s.EndedAt is not { } ended || periodStart < ended)
        && (!s.CancelAtPeriodEnd || s.CancelAt is not { } cancelAt || periodStart < cancelAt);

    private static InvoiceLine Line(Subscription subscription, SubscriptionItem item, BillingPeriod period, long amount, bool prorated) => new()
    {
        Id = InvoiceLine.NewId(period.Start),
        Kind = InvoiceLineKind.Subscription,
        Description = Describe(item, prorated),
        PeriodStart = period.Start,
        PeriodEnd = period.End,
        Quantity = item.Quantity,
        UnitAmount = item.Price.DisplayUnitAmount,
        Amount = amount,
        PriceId = item.Price.Id,
        ProductId = item.Price.ProductId,
        SubscriptionId = subscription.Id,
        SubscriptionItemId = item.Id,
        TaxRates = subscription.DefaultTaxRates.Count > 0 ? subscription.DefaultTaxRates : null,
    };

    /// <summary>Stripe-like text: "2 × Pro (at USD 10.00 / month)".</summary>
    private static string Describe(SubscriptionItem item, bool prorated)
    {
        var interval = item.Price.Recurring.Count == 1
            ? Subscription.Wire(item.Price.Recurring.Unit)
            : $"{item.Price.Recurring.Count.ToString(CultureInfo.InvariantCulture)} {Subscription.Wire(item.Price.Recurring.Unit)}s";
        var unit = item.Price.DisplayUnitAmount is { } u ? $" (at {new Money(u, Currency.FromCode(item.Price.Currency))} / {interval})" : $" (per {interval})";
        var text = $"{item.Quantity.ToString(CultureInfo.InvariantCulture)} × {item.Price.ProductName}{unit}";
        return prorated ? text + ", prorated" : text;
    }
}
