using Billing.Domain.Invoicing;
using Billing.Domain.Payments;

namespace Billing.Domain.Tests.Invoicing;

public sealed class DunningStateTests
{
    private static readonly DateTimeOffset Failed = new(2026, 2, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly int[] Days = [1, 3, 5, 7];

    [Fact]
    public void A_temporary_decline_schedules_retries_on_days_after_the_first_failure_until_exhausted()
    {
        var state = DunningState.Start(Failed, "insufficient_funds", DeclineClass.RetryLater, Days);
        Assert.Equal((DunningStatus.Scheduled, 0, 4, Failed.AddDays(1)), (state.Status, state.Attempt, state.Of, state.NextAttemptAt));
        Assert.True(state.Expects(1));
        Assert.False(state.Expects(2));

        for (var n = 1; n <= 4; n++)
        {
            state = state.BeginRetry(n, n + 1);
            Assert.True(state.Expects(n));
            Assert.True(state.InFlight);
            state = state.RetryFailed(Failed.AddDays(Days[n - 1]), "insufficient_funds", DeclineClass.RetryLater, Days);
            Assert.Equal(n, state.Attempt);
            Assert.Equal(n < 4 ? Failed.AddDays(Days[n]) : null, state.NextAttemptAt);
        }

        Assert.Equal(DunningStatus.Exhausted, state.Status);
        Assert.False(state.IsActive);
        Assert.False(state.Expects(5));
    }

    [Theory]
    [InlineData(DeclineClass.NeverRetry, DunningStatus.Exhausted)]
    [InlineData(DeclineClass.NeedsCustomer, DunningStatus.AwaitingCustomer)]
    public void Hard_declines_end_at_once_and_declines_needing_the_customer_wait_without_a_retry(DeclineClass declineClass, DunningStatus expected)
    {
        var state = DunningState.Start(Failed, "x", declineClass, Days);
        Assert.Equal(expected, state.Status);
        Assert.Null(state.NextAttemptAt);
        Assert.False(state.Expects(1));

        var afterRetry = DunningState.Start(Failed, "x", DeclineClass.RetryLater, Days).BeginRetry(1, 2).RetryFailed(Failed.AddDays(1), "lost_card", declineClass, Days);
        Assert.Equal(expected, afterRetry.Status);
        Assert.Equal(1, afterRetry.Attempt);
    }

    [Fact]
    public void A_payment_or_a_stop_ends_active_dunning_and_makes_pending_retries_stale()
    {
        var state = DunningState.Start(Failed, "generic_decline", DeclineClass.RetryLater, Days);
        var recovered = state.Recover(Failed.AddHours(2));
        Assert.Equal(DunningStatus.Recovered, recovered.Status);
        Assert.False(recovered.Expects(1));
        var stopped = state.Stop(Failed.AddHours(2), "dispute");
        Assert.Equal((DunningStatus.Stopped, "dispute"), (stopped.Status, stopped.StoppedBy));
        Assert.False(stopped.Expects(1));
        Assert.Same(recovered, recovered.Stop(Failed.AddHours(3), "dispute"));
    }

    [Fact]
    public void An_empty_schedule_is_exhausted_at_the_first_failure()
    {
        Assert.Equal(DunningStatus.Exhausted, DunningState.Start(Failed, "generic_decline", DeclineClass.RetryLater, []).Status);
    }
}
