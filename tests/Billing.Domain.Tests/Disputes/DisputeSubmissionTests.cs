using Billing.Domain.Disputes;

namespace Billing.Domain.Tests.Disputes;

public class DisputeSubmissionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Due = T0.AddDays(7);

    private static DisputeSnapshot Snapshot(string status, DateTimeOffset at, int submissions = 0) =>
        new("dp_1", "ch_1", "pi_1", Money.Of(4900, "USD"), "fraudulent", status, Due, submissions, 0, 0, at);

    private static Dispute Staged() =>
        Dispute.FromStripe(Snapshot("needs_response", T0), new DisputeLinks("pay_1", null, "cus_1", null), "dsp_1", T0)
            .StageEvidence(new Dictionary<string, string?> { ["uncategorized_text"] = "winning_evidence" }, T0);

    [Fact]
    public void Recording_a_submission_marks_it_once_and_keeps_how_it_was_submitted()
    {
        var automatic = Staged().RecordSubmission(Due, automatically: true);

        Assert.Equal(DeadlineStatus.AutoSubmitted, automatic.DeadlineStatus);
        Assert.Equal("under_review", automatic.Status);
        Assert.Equal(Due, automatic.SubmittedAt);
        Assert.Same(automatic, automatic.RecordSubmission(Due.AddHours(1)));
    }

    [Fact]
    public void Recording_a_submission_a_webhook_already_reported_only_adds_the_time()
    {
        var reported = Staged().Apply(Snapshot("under_review", T0.AddHours(1), submissions: 1), T0.AddHours(1));
        Assert.Null(reported.SubmittedAt);

        var recorded = reported.RecordSubmission(T0.AddHours(1));

        Assert.Equal(T0.AddHours(1), recorded.SubmittedAt);
        Assert.Equal(1, recorded.SubmissionCount);
        Assert.Equal(DeadlineStatus.Submitted, recorded.DeadlineStatus);
        Assert.Equal(reported.Version + 1, recorded.Version);
    }

    [Fact]
    public void A_dispute_on_one_of_our_invoices_is_linked_even_without_a_payment_record()
    {
        var dispute = Dispute.FromStripe(Snapshot("needs_response", T0), new DisputeLinks(null, "in_1", "cus_1", "sub_1"), "dsp_2", T0);

        Assert.False(dispute.Unlinked);
        Assert.Equal("sub_1", dispute.SubscriptionId);
    }
}
