using Billing.Domain.Subscriptions;

namespace Billing.Domain.Tests.Subscriptions;

public class SubscriptionStatusTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(SubscriptionStatus.Incomplete, SubscriptionStatus.Active, true)]
    [InlineData(SubscriptionStatus.Incomplete, SubscriptionStatus.IncompleteExpired, true)]
    [InlineData(SubscriptionStatus.Incomplete, SubscriptionStatus.PastDue, false)]
    [InlineData(SubscriptionStatus.Trialing, SubscriptionStatus.Paused, true)]
    [InlineData(SubscriptionStatus.Active, SubscriptionStatus.PastDue, true)]
    [InlineData(SubscriptionStatus.Active, SubscriptionStatus.Unpaid, false)]
    [InlineData(SubscriptionStatus.Active, SubscriptionStatus.Trialing, false)]
    [InlineData(SubscriptionStatus.PastDue, SubscriptionStatus.Unpaid, true)]
    [InlineData(SubscriptionStatus.Unpaid, SubscriptionStatus.PastDue, false)]
    [InlineData(SubscriptionStatus.Paused, SubscriptionStatus.Active, true)]
    [InlineData(SubscriptionStatus.Canceled, SubscriptionStatus.Active, false)]
    [InlineData(SubscriptionStatus.IncompleteExpired, SubscriptionStatus.Active, false)]
    public void Only_Stripes_transitions_are_allowed(SubscriptionStatus from, SubscriptionStatus to, bool allowed) =>
        Assert.Equal(allowed, Subscription.CanTransition(from, to));

    [Fact]
    public void Invalid_status_changes_throw()
    {
        var world = new BillingWorld(Start);
        var active = world.Subscribe(BillingWorld.Price("pro", 3000));
        Assert.Equal(SubscriptionStatus.Active, active.Status);
        var error = Assert.Throws<InvalidStateException>(() => active.MarkUnpaid(Start));
        Assert.Equal("invalid_status_transition", error.Code);
        Assert.Throws<InvalidStateException>(() => active.Resume(Start));
        Assert.Throws<InvalidStateException>(() => active.Pause(Start));
        Assert.Throws<InvalidStateException>(() => active.ExpireIncomplete(Start.AddDays(2)));

        var canceled = active.CancelNow(Start.AddDays(1)).Subscription;
        Assert.Throws<InvalidStateException>(() => canceled.MarkPaymentSucceeded(Start));
        Assert.Throws<InvalidStateException>(() => canceled.CancelNow(Start.AddDays(2)));
        Assert.Throws<InvalidStateException>(() => canceled.ChangeItems([new ItemUpdate { ItemId = canceled.Items[0].Id, Quantity = 2 }], ProrationBehavior.None, Start));
    }

    [Fact]
    public void Metadata_merges_and_tax_rates_change_with_a_history_entry_each()
    {
        var world = new BillingWorld(Start);
        var sub = world.Subscribe(BillingWorld.Price("pro", 3000));
        Assert.Same(sub, sub.UpdateMetadata(null, Start));

        var tagged = sub.UpdateMetadata(new Dictionary<string, string> { ["crm"] = "42" }, Start, "key:admin")
            .UpdateMetadata(new Dictionary<string, string> { ["crm"] = "", ["plan"] = "b" }, Start);
        var vat = Billing.Domain.Invoicing.TaxRate.Create("txr_1", "VAT", 20m, inclusive: false, null, Start);
        var taxed = tagged.SetDefaultTaxRates([vat], Start);

        Assert.Equal(new Dictionary<string, string> { ["plan"] = "b" }, taxed.Metadata);
        Assert.Equal([vat], taxed.DefaultTaxRates);
        Assert.Equal(["update_metadata", "update_metadata", "update_default_tax_rates"], taxed.History.Skip(sub.History.Count).Select(h => h.Action));
        Assert.Equal(sub.Version + 3, taxed.Version);
        Assert.Throws<DomainValidationException>(() => sub.UpdateMetadata(new Dictionary<string, string> { ["bad[key]"] = "x" }, Start));
        var canceled = sub.CancelNow(Start).Subscription;
        Assert.Throws<InvalidStateException>(() => canceled.SetDefaultTaxRates([vat], Start));
    }

    [Fact]
    public void Payment_failure_and_recovery_follow_past_due_and_unpaid()
    {
        var world = new BillingWorld(Start);
        var sub = world.Subscribe(BillingWorld.Price("pro", 3000));
        var pastDue = sub.MarkPaymentFailed(Start.AddMonths(1));
        Assert.Equal(SubscriptionStatus.PastDue, pastDue.Status);
        Assert.Same(pastDue, pastDue.MarkPaymentFailed(Start.AddMonths(1))); // retries do not add history
        var unpaid = pastDue.MarkUnpaid(Start.AddMonths(1).AddDays(14));
        Assert.Equal(SubscriptionStatus.Active, unpaid.MarkPaymentSucceeded(Start.AddMonths(1).AddDays(20)).Status);
    }

    [Fact]
    public void Trial_without_payment_method_pauses_and_resume_reanchors_the_cycle()
    {
        var world = new BillingWorld(Start);
        world.Subscribe(BillingWorld.Price("pro", 3000, trialDays: 7));
        Assert.Throws<InvalidStateException>(() => world.Sub.Pause(Start.AddDays(1)));
        world.Sub = world.Sub.Pause(Start.AddDays(7));
        Assert.Equal(SubscriptionStatus.Paused, world.Sub.Status);
        Assert.Null(world.Sub.NextAction());
        world.Clock.SetUtcNow(Start.AddDays(20));
        Assert.Null(world.Bill()); // nothing billed while paused

        world.Sub = world.Sub.Resume(world.Now);
        Assert.Equal((world.Now, world.Now.AddMonths(1)), (world.Sub.CurrentPeriodStart, world.Sub.CurrentPeriodEnd));
        var invoice = world.Bill()!;
        Assert.Equal((world.Now, 3000L), (invoice.PeriodStart, invoice.Total));
    }

    [Fact]
    public void Every_change_bumps_the_version_and_records_who_changed_what()
    {
        var world = new BillingWorld(Start);
        var sub = world.Subscribe(BillingWorld.Price("pro", 3000));
        Assert.Equal("create", sub.History[0].Action);
        Assert.Equal("user:ada", sub.History[0].Actor);
        var created = sub.Version;

        var later = Start.AddDays(3);
        var canceling = world.Sub.SetCancelAtPeriodEnd(true, later, "user:bob");
        var entry = canceling.History[^1];
        Assert.Equal(canceling.Version, entry.Version);
        Assert.Equal(world.Sub.Version + 1, canceling.Version);
        Assert.True(canceling.Version > created);
        Assert.Equal(("cancel_at_period_end", "user:bob", later), (entry.Action, entry.Actor, entry.At));
        Assert.Equal(new FieldChange("false", "true"), entry.Changes["cancel_at_period_end"]);
        Assert.Equal(new FieldChange(null, "2026-04-01T00:00:00.0000000+00:00"), entry.Changes["cancel_at"]);
        Assert.DoesNotContain("status", entry.Changes.Keys);
    }

    [Fact]
    public void Trial_end_date_and_anchor_are_validated()
    {
        var world = new BillingWorld(Start);
        var input = new SubscriptionCreateInput { CustomerId = world.Customer.Id, Items = [new(BillingWorld.Price("pro", 3000))] };
        Assert.Throws<DomainValidationException>(() => Subscription.Create(input with { TrialEnd = Start }, world.Customer, "sub_1", Start));
        Assert.Throws<DomainValidationException>(() => Subscription.Create(input with { BillingCycleAnchor = Start.AddMonths(2) }, world.Customer, "sub_1", Start));
        var trial = Subscription.Create(input with { TrialEnd = Start.AddDays(10) }, world.Customer, "sub_1", Start);
        Assert.Equal((SubscriptionStatus.Trialing, Start.AddDays(10)), (trial.Status, trial.BillingCycleAnchor));
        var extended = trial.ExtendTrial(Start.AddDays(20), Start.AddDays(5));
        Assert.Equal((Start.AddDays(20), Start.AddDays(20)), (extended.TrialEnd!.Value, extended.CurrentPeriodEnd));
        var noTrial = Subscription.Create(input with { Items = [new(BillingWorld.Price("pro", 3000, trialDays: 14))], TrialFromPrice = false }, world.Customer, "sub_2", Start);
        Assert.Equal(SubscriptionStatus.Incomplete, noTrial.Status);
        Assert.Throws<InvalidStateException>(() => Subscription.Create(input, world.Customer.Delete(Start), "sub_3", Start));
    }
}
