using Billing.Domain.Catalog;
using Billing.Domain.Subscriptions;

namespace Billing.Domain.Tests.Subscriptions;

public class BillingPeriodsTests
{
    private static readonly Recurrence Monthly = new(IntervalUnit.Month, 1);

    private static DateTimeOffset Utc(int y, int m, int d, int h = 0, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    [Fact]
    public void Monthly_anchor_on_the_31st_clamps_each_month_from_the_anchor_in_a_leap_year()
    {
        var anchor = Utc(2028, 1, 31, 10, 30);
        var boundaries = Enumerable.Range(0, 13).Select(n => BillingPeriods.Boundary(anchor, Monthly, n).Date).ToList();
        DateTime[] expected =
        [
            new(2028, 1, 31), new(2028, 2, 29), new(2028, 3, 31), new(2028, 4, 30), new(2028, 5, 31), new(2028, 6, 30), new(2028, 7, 31),
            new(2028, 8, 31), new(2028, 9, 30), new(2028, 10, 31), new(2028, 11, 30), new(2028, 12, 31), new(2029, 1, 31),
        ];
        Assert.Equal(expected, boundaries);
        Assert.All(Enumerable.Range(0, 13), n => Assert.Equal(new TimeSpan(10, 30, 0), BillingPeriods.Boundary(anchor, Monthly, n).TimeOfDay));
    }

    [Fact]
    public void February_is_28_days_outside_leap_years_and_March_returns_to_the_31st()
    {
        var anchor = Utc(2027, 1, 31);
        Assert.Equal(Utc(2027, 2, 28), BillingPeriods.Boundary(anchor, Monthly, 1));
        Assert.Equal(Utc(2027, 3, 31), BillingPeriods.Boundary(anchor, Monthly, 2));
        Assert.Equal(new BillingPeriod(Utc(2027, 2, 28), Utc(2027, 3, 31)), BillingPeriods.PeriodContaining(anchor, Monthly, Utc(2027, 3, 15)));
    }

    [Theory]
    [InlineData("2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z")] // a boundary belongs to the period it starts
    [InlineData("2028-02-28T23:59:59Z", "2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z")]
    [InlineData("2027-12-15T00:00:00Z", "2027-11-30T00:00:00Z", "2027-12-31T00:00:00Z")] // before the anchor
    public void Period_containing_a_time_is_half_open(string t, string start, string end)
    {
        var period = BillingPeriods.PeriodContaining(Utc(2028, 1, 31), Monthly, DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), period.Start);
        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture), period.End);
    }

    [Fact]
    public void Yearly_from_February_29_clamps_to_the_28th_and_returns_in_leap_years()
    {
        var yearly = new Recurrence(IntervalUnit.Year, 1);
        var anchor = Utc(2028, 2, 29);
        Assert.Equal(Utc(2029, 2, 28), BillingPeriods.Boundary(anchor, yearly, 1));
        Assert.Equal(Utc(2032, 2, 29), BillingPeriods.Boundary(anchor, yearly, 4));
    }

    [Fact]
    public void Days_weeks_and_multi_month_intervals()
    {
        var anchor = Utc(2026, 3, 1, 12);
        Assert.Equal(Utc(2026, 3, 11, 12), BillingPeriods.NextPeriodEnd(anchor, new Recurrence(IntervalUnit.Day, 10), Utc(2026, 3, 5)));
        Assert.Equal(Utc(2026, 3, 29, 12), BillingPeriods.NextPeriodEnd(anchor, new Recurrence(IntervalUnit.Week, 2), Utc(2026, 3, 20)));
        var quarterly = new Recurrence(IntervalUnit.Month, 3);
        Assert.Equal(new BillingPeriod(Utc(2026, 6, 1, 12), Utc(2026, 9, 1, 12)), BillingPeriods.PeriodContaining(anchor, quarterly, Utc(2026, 8, 31)));
        var next = BillingPeriods.Next(anchor, quarterly, new BillingPeriod(Utc(2026, 6, 1, 12), Utc(2026, 9, 1, 12)));
        Assert.Equal(Utc(2026, 12, 1, 12), next.End);
    }

    [Fact]
    public void Period_seconds_count_a_leap_day()
    {
        Assert.Equal(29 * 86_400, BillingPeriods.Period(Utc(2028, 1, 31), Monthly, 1).Seconds - (2 * 86_400)); // Feb 29 → Mar 31 is 31 days
        Assert.Equal(29 * 86_400, new BillingPeriod(Utc(2028, 2, 1), Utc(2028, 3, 1)).Seconds);
    }
}
