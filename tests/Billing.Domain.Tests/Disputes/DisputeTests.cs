using Billing.Domain.Disputes;

namespace Billing.Domain.Tests.Disputes;

public class DisputeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Due = T0.AddDays(7);
    private static readonly TimeSpan[] Offsets = [TimeSpan.FromHours(72), TimeSpan.FromHours(24)];

    private static DisputeSnapshot Snapshot(string status, DateTimeOffset at, long withdrawn = 0, long reinstated = 0, int submissions = 0) =>
        new("dp_1", "ch_1", "pi_1", Money.Of(4900, "USD"), "fraudulent", status, Due, submissions, withdrawn, reinstated, at);

    private static Dispute Open() =>
        Dispute.FromStripe(Snapshot("needs_response", T0), new DisputeLinks("pay_1", "in_1", "cus_1", "sub_1"), "dsp_1", T0).WithNextReminder(Offsets, T0);

    [Fact]
    public void A_new_dispute_waits_for_evidence_with_reminders_72_and_24_hours_before_the_deadline()
    {
        var dispute = Open();
        Assert.Equal(DeadlineStatus.Pending, dispute.DeadlineStatus);
        Assert.Equal(Due.AddHours(-72), dispute.NextReminderAt);

        var afterFirst = dispute.RecordReminder(Due.AddHours(-72), Offsets, Due.AddHours(-72));
        Assert.Equal(Due.AddHours(-24), afterFirst.NextReminderAt);
        var afterSecond = afterFirst.RecordReminder(Due.AddHours(-24), Offsets, Due.AddHours(-24));
        Assert.Null(afterSecond.NextReminderAt);
        Assert.Same(afterSecond, afterSecond.RecordReminder(Due.AddHours(-24), Offsets, Due));
    }

    [Fact]
    public void Evidence_is_staged_then_submitted_once()
    {
        var staged = Open().StageEvidence(new Dictionary<string, string?> { ["customer_name"] = "山田太郎", ["receipt"] = "invoice:in_1", ["uncategorized_text"] = "winning_evidence" }, T0);
        Assert.Equal(3, staged.StagedEvidence.Count);
        var unstaged = staged.StageEvidence(new Dictionary<string, string?> { ["customer_name"] = "" }, T0);
        Assert.False(unstaged.StagedEvidence.ContainsKey("customer_name"));

        var submitted = staged.MarkSubmitted(T0.AddDays(1));

        Assert.Equal(("under_review", 1, DeadlineStatus.Submitted), (submitted.Status, submitted.SubmissionCount, submitted.DeadlineStatus));
        Assert.Null(submitted.NextReminderAt);
        var again = Assert.Throws<InvalidStateException>(() => submitted.MarkSubmitted(T0.AddDays(2)));
        Assert.Equal("evidence_already_submitted", again.Code);
        Assert.Throws<InvalidStateException>(() => submitted.StageEvidence(new Dictionary<string, string?> { ["customer_name"] = "x" }, T0));
    }

    [Fact]
    public void Evidence_over_its_limits_or_unknown_is_rejected_with_every_field_named()
    {
        var error = Assert.Throws<DomainValidationException>(() => Open().StageEvidence(new Dictionary<string, string?>
        {
            ["customer_name"] = new string('a', 5_001),
            ["product_description"] = new string('b', 20_001),
            ["receipt"] = "https://example.com/receipt.pdf",
            ["favourite_colour"] = "blue",
        }, T0));
        Assert.Equal(
            ["evidence.customer_name", "evidence.favourite_colour", "evidence.product_description", "evidence.receipt"],
            error.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Throws<DomainValidationException>(() => Open().MarkSubmitted(T0));
    }

    [Fact]
    public void All_text_together_is_capped()
    {
        var fields = new[] { "product_description", "access_activity_log", "cancellation_policy_disclosure", "cancellation_rebuttal", "duplicate_charge_explanation", "refund_policy_disclosure", "refund_refusal_explanation", "uncategorized_text" }
            .ToDictionary(f => f, _ => (string?)new string('x', 19_000));
        var error = Assert.Throws<DomainValidationException>(() => Open().StageEvidence(fields, T0));
        Assert.Contains("evidence", error.Errors.Keys);
    }

    [Fact]
    public void Accepting_closes_as_lost_and_cannot_be_undone()
    {
        var accepted = Open().Accept(T0);
        Assert.Equal(("lost", true, "lost", DeadlineStatus.Closed), (accepted.Status, accepted.Accepted, accepted.Outcome, accepted.DeadlineStatus));
        Assert.Throws<InvalidStateException>(() => accepted.Accept(T0));
        Assert.Throws<InvalidStateException>(() => accepted.StageEvidence(new Dictionary<string, string?> { ["customer_name"] = "x" }, T0));
    }

    [Fact]
    public void A_deadline_can_pass_unanswered_and_no_response_possible_is_not_applicable()
    {
        Assert.Equal(DeadlineStatus.PassedUnanswered, Open().RecordDeadlinePassed().DeadlineStatus);
        var noResponse = Dispute.FromStripe(Snapshot("needs_response", T0) with { EvidenceDueBy = null }, new DisputeLinks(null, null, null, null), "dsp_2", T0);
        Assert.Equal(DeadlineStatus.NotApplicable, noResponse.DeadlineStatus);
        Assert.True(noResponse.Unlinked);
        Assert.False(noResponse.AwaitsResponse);
    }

    [Fact]
    public void Webhooks_in_any_order_end_in_the_newest_state()
    {
        DisputeSnapshot[] events =
        [
            Snapshot("needs_response", T0),
            Snapshot("needs_response", T0.AddMinutes(1), withdrawn: 4900 + 1500),
            Snapshot("under_review", T0.AddDays(2), withdrawn: 6400, submissions: 1),
            Snapshot("won", T0.AddDays(9), withdrawn: 6400, reinstated: 4900, submissions: 1),
        ];
        var inOrder = events.Aggregate(Open(), (d, e) => d.Apply(e, T0.AddDays(10)));

        foreach (var permutation in Permutations(events))
        {
            var final = permutation.Concat(permutation).Aggregate(Open(), (d, e) => d.Apply(e, T0.AddDays(10)));
            Assert.Equal(
                (inOrder.Status, inOrder.FundsWithdrawn, inOrder.FundsReinstated, inOrder.SubmissionCount, inOrder.LastSnapshotAt, inOrder.DeadlineStatus),
                (final.Status, final.FundsWithdrawn, final.FundsReinstated, final.SubmissionCount, final.LastSnapshotAt, final.DeadlineStatus));
        }

        Assert.Equal(("won", 6400L, 4900L, DeadlineStatus.Closed), (inOrder.Status, inOrder.FundsWithdrawn, inOrder.FundsReinstated, inOrder.DeadlineStatus));
    }

    [Fact]
    public void An_unknown_status_is_kept_verbatim_and_treated_as_open()
    {
        var appealed = Open().Apply(Snapshot("second_round_needs_response", T0.AddDays(1)), T0.AddDays(1));
        Assert.Equal("second_round_needs_response", appealed.Status);
        Assert.False(appealed.IsClosed);
        Assert.Null(appealed.Outcome);
    }

    private static IEnumerable<T[]> Permutations<T>(T[] items) =>
        items.Length <= 1 ? [items] : items.SelectMany((item, i) => Permutations([.. items.Take(i), .. items.Skip(i + 1)]).Select(rest => (T[])[item, .. rest]));
}
