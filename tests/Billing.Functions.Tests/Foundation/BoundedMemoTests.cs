using Billing.Functions.Storage;

namespace Billing.Functions.Tests.Foundation;

public sealed class BoundedMemoTests
{
    [Fact]
    public void Keeps_at_least_the_last_limit_entries_set_and_at_most_twice_as_many()
    {
        var memo = new BoundedMemo<string, int>(100);
        for (var i = 0; i < 1_000; i++)
        {
            memo.Set("k" + i, i);
            Assert.InRange(memo.Count, Math.Min(i + 1, 100), 200);
        }

        for (var i = 900; i < 1_000; i++)
        {
            Assert.True(memo.TryGet("k" + i, out var value));
            Assert.Equal(i, value);
        }

        Assert.False(memo.Contains("k0"));
        Assert.False(memo.Contains("k799"));
    }

    [Fact]
    public void A_later_set_wins_over_the_previous_generation_and_forget_removes_from_both()
    {
        var memo = new BoundedMemo<string, string>(2);
        memo.Set("a", "old");
        memo.Set("b", "b");
        memo.Set("c", "c"); // turnover: a and b are now the previous generation
        memo.Set("a", "new");

        Assert.True(memo.TryGet("a", out var a));
        Assert.Equal("new", a);
        Assert.True(memo.Contains("b"));

        memo.Forget("a");
        Assert.False(memo.Contains("a"));
        Assert.True(memo.Contains("b"));
    }
}
