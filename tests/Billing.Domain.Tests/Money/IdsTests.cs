
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
}
