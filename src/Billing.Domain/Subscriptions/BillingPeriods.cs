using Billing.Domain.Catalog;

namespace Billing.Domain.Subscriptions;

/// <summary>
/// A half-open service period <c>[Start, End)</c> in UTC: the stretch of time one subscription charge pays for.
/// Its length in whole seconds is the denominator of every proration.
/// </summary>
public sealed record BillingPeriod(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>Length in whole seconds: <c>End − Start</c> (Unix seconds, as Stripe prorates).</summary>
    public long Seconds => End.ToUnixTimeSeconds() - Start.ToUnixTimeSeconds();

    /// <summary>True when <c>Start ≤ t &lt; End</c>.</summary>
    public bool Contains(DateTimeOffset t) => t >= Start && t < End;
}

/// <summary>
/// Billing-cycle arithmetic in UTC. Boundary <c>n</c> of a cycle is <c>anchor + n × (count × unit)</c>:
/// days and weeks add exact 24 h days; months and years add calendar months to the <em>anchor</em> and clamp
/// the anchor's day to the length of the target month (anchor Jan 31 → Feb 28/29 → Mar 31 → Apr 30), keeping the
/// anchor's time of day. Every boundary is computed from the anchor, never by chaining clamped dates, so a
/// cycle anchored on the 31st returns to the 31st whenever the month has one.
/// </summary>
public static class BillingPeriods
{
    /// <summary>Boundary <paramref name="n"/> (may be negative): <c>anchor + n × interval</c>, clamped as described on the type.</summary>
    public static DateTimeOffset Boundary(DateTimeOffset anchor, Recurrence recurrence, long n)
    {
        ArgumentNullException.ThrowIfNull(recurrence);
        var a = anchor.ToUniversalTime();
        switch (recurrence.Unit)
        {
            case IntervalUnit.Day:
                return a.AddDays(checked(n * recurrence.Count));
            case IntervalUnit.Week:
                return a.AddDays(checked(n * recurrence.Count * 7));
            default:
                var months = checked(n * recurrence.Count * (recurrence.Unit == IntervalUnit.Year ? 12 : 1));
                var monthIndex = checked((a.Year * 12L) + (a.Month - 1) + months);
                var year = (int)(monthIndex / 12);
                var month = (int)(monthIndex % 12) + 1;
                var day = Math.Min(a.Day, DateTime.DaysInMonth(year, month));
                return new DateTimeOffset(year, month, day, a.Hour, a.Minute, a.Second, TimeSpan.Zero).AddTicks(a.Ticks % TimeSpan.TicksPerSecond);
        }
    }

    /// <summary>The index <c>n</c> of the period <c>[Boundary(n), Boundary(n+1))</c> that contains <paramref name="t"/>.</summary>
    public static long IndexOf(DateTimeOffset anchor, Recurrence recurrence, DateTimeOffset t)
    {
        ArgumentNullException.ThrowIfNull(recurrence);
        var a = anchor.ToUniversalTime();
        var u = t.ToUniversalTime();
        long estimate = recurrence.Unit switch
        {
            IntervalUnit.Day => (long)Math.Floor((u - a).TotalDays / recurrence.Count),
            IntervalUnit.Week => (long)Math.Floor((u - a).TotalDays / (7.0 * recurrence.Count)),
            IntervalUnit.Month => (long)Math.Floor((((u.Year - a.Year) * 12) + u.Month - a.Month) / (double)recurrence.Count),
            _ => (long)Math.Floor((u.Year - a.Year) / (double)recurrence.Count),
        };
        while (Boundary(a, recurrence, estimate) > u)
        {
            estimate--;
        }

        while (Boundary(a, recurrence, estimate + 1) <= u)
        {
            estimate++;
        }

        return estimate;
    }

    /// <summary>The period of the cycle anchored at <paramref name="anchor"/> that contains <paramref name="t"/>.</summary>
    public static BillingPeriod PeriodContaining(DateTimeOffset anchor, Recurrence recurrence, DateTimeOffset t) =>
        Period(anchor, recurrence, IndexOf(anchor, recurrence, t));

    /// <summary>Period <paramref name="n"/>: <c>[Boundary(n), Boundary(n+1))</c>.</summary>
    public static BillingPeriod Period(DateTimeOffset anchor, Recurrence recurrence, long n) =>
        new(Boundary(anchor, recurrence, n), Boundary(anchor, recurrence, n + 1));

    /// <summary>The first boundary strictly after <paramref name="t"/> (the end of the period containing it).</summary>
    public static DateTimeOffset NextPeriodEnd(DateTimeOffset anchor, Recurrence recurrence, DateTimeOffset t) =>
        PeriodContaining(anchor, recurrence, t).End;

    /// <summary>The period that starts where <paramref name="current"/> ends, on the same anchor.</summary>
    public static BillingPeriod Next(DateTimeOffset anchor, Recurrence recurrence, BillingPeriod current)
    {
        ArgumentNullException.ThrowIfNull(current);
        return PeriodContaining(anchor, recurrence, current.End);
    }

    /// <summary>Adds calendar months with the day clamped to the target month (used for coupon durations).</summary>
    public static DateTimeOffset AddMonthsClamped(DateTimeOffset from, int months) =>
        Boundary(from, new Recurrence(IntervalUnit.Month, 1), months);
}
