using System.ComponentModel.DataAnnotations;
using Billing.Domain.Disputes;
using Billing.Functions.Disputes;

namespace Billing.Functions.Tests.Disputes;

public sealed class DisputeOptionsTests
{
    [Fact]
    public void Reminder_offsets_are_durations_with_a_unit_largest_first()
    {
        Assert.Equal([TimeSpan.FromHours(72), TimeSpan.FromHours(24)], new DisputeOptions().GetOffsets());
        Assert.Equal([TimeSpan.FromDays(5), TimeSpan.FromHours(6), TimeSpan.FromMinutes(30)], DisputeOptions.ParseOffsets(" 30m, 5d,6h ,6h"));
        Assert.Equal([], DisputeOptions.ParseOffsets(""));
        Assert.Null(DisputeOptions.ParseOffsets("72"));
        Assert.Null(DisputeOptions.ParseOffsets("-1h"));
        Assert.Null(DisputeOptions.ParseOffsets("61d"));
    }

    [Fact]
    public void Bad_settings_fail_validation_and_policies_use_snake_case()
    {
        var bad = new DisputeOptions { ReminderOffsets = "soon", SubscriptionPolicy = "refund" };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(bad, new ValidationContext(bad), results, validateAllProperties: true));
        Assert.Equal(2, results.Count);
        Assert.Equal(DisputeSubscriptionPolicy.PauseCollection, new DisputeOptions { SubscriptionPolicy = "pause_collection" }.GetPolicy());
        Assert.Equal(DisputeSubscriptionPolicy.Cancel, new DisputeOptions { SubscriptionPolicy = "cancel" }.GetPolicy());
    }
}
