
namespace Billing.Domain.Tests;

public class IdsTests
{
    [Fact]
    public void Ids_are_prefixed_and_sort_by_creation_time()
    {
        var t0 = new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var first = Ids.New("cus", t0);
        var second = Ids.New("cus", t0.AddMilliseconds(1));
        Assert.StartsWith("cus_", first, StringComparison.Ordinal);
        Assert.True(string.CompareOrdinal(first, second) < 0);
        Assert.Equal(t0, Ids.CreatedAt(first));
        Assert.True(Ids.IsValid(first, "cus"));
        Assert.False(Ids.IsValid(first, "prod"));
        Assert.False(Ids.IsValid("cus_../../etc", "cus"));
    }

    [Fact]
    public void A_derived_id_is_the_same_wherever_it_is_derived_shares_its_source_time_and_differs_per_source()
    {
        var t0 = new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var note = Ids.New("cn", t0);
        var other = Ids.New("cn", t0);

        var refund = Ids.Derive("rfd", note, "refund");

        Assert.Equal(refund, Ids.Derive("rfd", note, "refund"));
        Assert.True(Ids.IsValid(refund, "rfd"));
        Assert.Equal(t0, Ids.CreatedAt(refund));
        Assert.NotEqual(refund, Ids.Derive("rfd", other, "refund"));
        Assert.NotEqual(refund, Ids.Derive("rfd", note, "refund2"));
        Assert.Throws<ArgumentException>(() => Ids.Derive("rfd", "cn_short", "refund"));
    }
}
