using System.Globalization;
using System.Text.Json.Nodes;
using Azure;
using Billing.Domain;
using Billing.Domain.Customers;
using Billing.Domain.Disputes;
using Billing.Domain.Payments;
using Billing.Domain.Scheduling;
using Billing.Domain.TestClocks;
using Billing.Functions.Notifications;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Disputes;

/// <summary>
/// The dispute process manager: creates and converges disputes from Stripe's webhooks (any order, any number of times),
/// links them to our payment, invoice and customer, keeps their reminder and deadline work scheduled for the current
/// version, publishes merchant events once each, and carries the merchant's evidence, submission and acceptance to Stripe.
/// </summary>
public sealed partial class DisputeService(
    IDisputeStore store,
    IDisputeGateway gateway,
    IPaymentGateway payments,
    IPaymentStore paymentStore,
    ICustomerStore customers,
    IBillingClock billingClock,
    IScheduleStore schedule,
    INotifier notifier,
    IDisputePolicyActions policy,
    StorageClients storage,
    IOptions<DisputeOptions> options,
    TimeProvider clock,
    ILogger<DisputeService> logger)
{
    public const string ReminderKind = "dispute_reminder";
    public const string DeadlineKind = "dispute_deadline";

    /// <summary>Blob container the invoices work writes PDFs to, as <c>{customerId}/{invoiceId}.pdf</c>.</summary>
    public const string InvoicesContainer = "invoices";

    private DisputeOptions Settings => options.Value;

    /// <summary>
    /// Processes one <c>charge.dispute.*</c> event: re-reads the dispute from Stripe (falling back to the event's object),
    /// creates it on first sight or applies the snapshot (stamped with the event's <c>created</c>), then schedules and publishes.
    /// </summary>
    public async Task<Dispute?> HandleEventAsync(string eventId, string type, JsonNode? eventObject, DateTimeOffset created, CancellationToken cancellationToken = default)
    {
        var fromEvent = Snapshot(eventObject, created);
        var stripeId = fromEvent?.StripeDisputeId ?? (eventObject?["id"] as JsonValue)?.GetValue<string>();
        if (stripeId is null)
        {
            return null;
        }

        var snapshot = await gateway.GetAsync(stripeId, created, cancellationToken) ?? fromEvent;
        if (snapshot is null)
        {
            return null;
        }

        var dispute = await store.GetByStripeIdAsync(stripeId, cancellationToken);
        if (dispute is null)
        {
            var links = await LinkAsync(snapshot, cancellationToken);
            var now = await NowForAsync(links.CustomerId, cancellationToken);
            var fresh = Dispute.FromStripe(snapshot, links, Ids.New(Dispute.IdPrefix, clock), now).WithNextReminder(Settings.GetOffsets(), now);
            (dispute, var isNew) = await store.CreateAsync(fresh, cancellationToken);
            if (isNew)
            {
                LogCreated(logger, dispute.Id, stripeId, dispute.CustomerId, dispute.Unlinked);
                await SyncScheduleAsync(null, dispute, cancellationToken);
            }
            else
            {
                dispute = await ApplyAsync(dispute, snapshot, cancellationToken);
            }
        }
        else
        {
            dispute = await ApplyAsync(dispute, snapshot, cancellationToken);
        }

        // Every step below is idempotent, so a redelivery after a crash anywhere finishes what was left.
        await notifier.PublishAsync(DisputeEventTypes.Created, dispute.CustomerId, DisputeResponse.From(dispute), $"{DisputeEventTypes.Created}:{stripeId}", cancellationToken);
        dispute = await ApplyPolicyAsync(dispute, cancellationToken);
        if (type == DisputeEventTypes.Updated)
        {
            await notifier.PublishAsync(DisputeEventTypes.Updated, dispute.CustomerId, DisputeResponse.From(dispute), $"{DisputeEventTypes.Updated}:{eventId}", cancellationToken);
        }

        await PublishStateEventsAsync(dispute, cancellationToken);
        return dispute;
    }

    /// <summary>Stages evidence: validates, uploads referenced invoice PDFs, sends to Stripe with <c>submit=false</c>, saves.</summary>
    public async Task<Dispute> StageEvidenceAsync(Dispute dispute, IReadOnlyDictionary<string, string?> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        ArgumentNullException.ThrowIfNull(fields);
        var now = await NowForAsync(dispute.CustomerId, cancellationToken);
        var staged = dispute.StageEvidence(fields, now);
        var (toStripe, uploaded) = await ResolveAsync(dispute, fields.ToDictionary(f => f.Key, f => f.Value ?? string.Empty, StringComparer.Ordinal), cancellationToken);
        await gateway.UpdateEvidenceAsync(dispute.StripeDisputeId, toStripe, submit: false, "op:" + Guid.NewGuid().ToString("N"), cancellationToken);
        return await SaveAsync(dispute, d => d.StageEvidence(fields, now) with { UploadedFiles = Merge(d.UploadedFiles, uploaded) }, cancellationToken);
    }

    /// <summary>Submits the staged evidence to Stripe once (a second submission is 409).</summary>
    public async Task<Dispute> SubmitAsync(Dispute dispute, bool automatically = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var now = await NowForAsync(dispute.CustomerId, cancellationToken);
        _ = dispute.MarkSubmitted(now, automatically);
        var (toStripe, uploaded) = await ResolveAsync(dispute, dispute.StagedEvidence, cancellationToken);
        var key = $"{dispute.Id}:submit:{dispute.Version.ToString(CultureInfo.InvariantCulture)}";
        await gateway.UpdateEvidenceAsync(dispute.StripeDisputeId, toStripe, submit: true, key, cancellationToken);
        return await SaveAsync(dispute, d => d.RecordSubmission(now, automatically) with { UploadedFiles = Merge(d.UploadedFiles, uploaded) }, cancellationToken);
    }

    /// <summary>Accepts (concedes) the dispute at Stripe: irreversible.</summary>
    public async Task<Dispute> AcceptAsync(Dispute dispute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var now = await NowForAsync(dispute.CustomerId, cancellationToken);
        _ = dispute.Accept(now);
        await gateway.CloseAsync(dispute.StripeDisputeId, dispute.Id + ":accept", cancellationToken);
        var accepted = await SaveAsync(dispute, d => d.Accepted ? d : d.IsClosed ? d with { Accepted = true, NextReminderAt = null } : d.Accept(now), cancellationToken);
        await PublishStateEventsAsync(accepted, cancellationToken);
        return accepted;
    }

    /// <summary>The <c>dispute_reminder</c> work: publishes the reminder once and moves <c>next_reminder_at</c> on.</summary>
    public async Task RemindAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (await CurrentAsync(work, cancellationToken) is not { } dispute)
        {
            return;
        }

        var offsets = Settings.GetOffsets();
        if (!dispute.AwaitsResponse || dispute.RemindersSent.Contains(work.DueAt) || !dispute.ReminderTimes(offsets).Contains(work.DueAt))
        {
            return;
        }

        var now = await NowForAsync(dispute.CustomerId, cancellationToken);
        await notifier.PublishAsync(
            DisputeEventTypes.EvidenceReminder,
            dispute.CustomerId,
            new DisputeReminder(DisputeResponse.From(dispute), work.DueAt, dispute.EvidenceDueBy, (long)Math.Round((dispute.EvidenceDueBy!.Value - work.DueAt).TotalHours)),
            $"{DisputeEventTypes.EvidenceReminder}:{dispute.Id}:{TableScheduleStore.TimeKey(work.DueAt)}",
            cancellationToken);
        await SaveAsync(dispute, d => d.RecordReminder(work.DueAt, offsets, now), cancellationToken);
    }

    /// <summary>The <c>dispute_deadline</c> work: submits staged evidence (when configured) or records the deadline passed unanswered.</summary>
    public async Task DeadlineAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (await CurrentAsync(work, cancellationToken) is not { } dispute)
        {
            return;
        }

        if (!dispute.AwaitsResponse || dispute.DeadlineStatus == DeadlineStatus.PassedUnanswered || dispute.EvidenceDueBy != work.DueAt)
        {
            return;
        }

        if (Settings.AutoSubmitStagedEvidence && dispute.StagedEvidence.Count > 0)
        {
            LogAutoSubmit(logger, dispute.Id);
            await SubmitAsync(dispute, automatically: true, cancellationToken);
            return;
        }

        await notifier.PublishAsync(DisputeEventTypes.DeadlinePassed, dispute.CustomerId, DisputeResponse.From(dispute.RecordDeadlinePassed()), $"{DisputeEventTypes.DeadlinePassed}:{dispute.Id}", cancellationToken);
        await SaveAsync(dispute, d => d.AwaitsResponse ? d.RecordDeadlinePassed() : d, cancellationToken);
    }

    /// <summary>
    /// The work items a dispute needs at its current version: the next reminder, and the deadline while a response is
    /// still possible and nobody answered.
    /// </summary>
    public async Task<IReadOnlyList<DueWork>> DesiredWorkAsync(Dispute dispute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var items = new List<DueWork>(2);
        if (!dispute.AwaitsResponse || dispute.DeadlineStatus == DeadlineStatus.PassedUnanswered)
        {
            return items;
        }

        var clockId = await ClockIdAsync(dispute.CustomerId, cancellationToken);
        var owner = dispute.CustomerId ?? TableDisputeStore.UnlinkedPartition;
        if (dispute.NextReminderAt is { } remindAt)
        {
            items.Add(new DueWork { Kind = ReminderKind, CustomerId = owner, TargetId = dispute.Id, ExpectedVersion = dispute.Version, DueAt = remindAt, ClockId = clockId });
        }

        if (dispute.EvidenceDueBy is { } due)
        {
            items.Add(new DueWork { Kind = DeadlineKind, CustomerId = owner, TargetId = dispute.Id, ExpectedVersion = dispute.Version, DueAt = due, ClockId = clockId });
        }

        return items;
    }

    private async Task<Dispute> ApplyAsync(Dispute dispute, DisputeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var now = await NowForAsync(dispute.CustomerId, cancellationToken);
        var offsets = Settings.GetOffsets();
        return await SaveAsync(dispute, d => d.Apply(snapshot, now).WithNextReminder(offsets, now), cancellationToken);
    }

    /// <summary>Saves a change (bumping the version when anything changed), then moves the scheduled work to the new version.</summary>
    private async Task<Dispute> SaveAsync(Dispute dispute, Func<Dispute, Dispute> change, CancellationToken cancellationToken)
    {
        Dispute? before = null;
        var saved = await store.UpdateAsync(dispute, loaded =>
        {
            before = loaded;
            var changed = change(loaded);
            return changed == loaded ? loaded : changed.Version == loaded.Version ? changed with { Version = loaded.Version + 1 } : changed;
        }, cancellationToken);
        if (!ReferenceEquals(saved, before))
        {
            await SyncScheduleAsync(before, saved, cancellationToken);
        }

        return saved;
    }

    /// <summary>Schedules the new version's work first, then cancels the old version's (a crash in between only leaves stale items, which heal).</summary>
    private async Task SyncScheduleAsync(Dispute? before, Dispute after, CancellationToken cancellationToken)
    {
        var wanted = await DesiredWorkAsync(after, cancellationToken);
        foreach (var item in wanted)
        {
            await schedule.ScheduleAsync(item, cancellationToken);
        }

        if (before is not null)
        {
            foreach (var stale in (await DesiredWorkAsync(before, cancellationToken)).Except(wanted))
            {
                await schedule.CancelAsync(stale, cancellationToken);
            }
        }
    }

    /// <summary>The dispute a work item is for, when the item is still current; a stale item re-schedules the current version's work.</summary>
    private async Task<Dispute?> CurrentAsync(DueWork work, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(work.TargetId, cancellationToken) is not { } dispute)
        {
            return null;
        }

        if (dispute.Version != work.ExpectedVersion)
        {
            await SyncScheduleAsync(null, dispute, cancellationToken);
            return null;
        }

        return dispute;
    }

    private async Task<Dispute> ApplyPolicyAsync(Dispute dispute, CancellationToken cancellationToken)
    {
        var settings = Settings;
        if (dispute.CustomerId is null || dispute.PolicyAppliedAt is not null || dispute.IsInquiry || (!settings.StopDunningOnDispute && settings.GetPolicy() == DisputeSubscriptionPolicy.None))
        {
            return dispute;
        }

        var actions = await policy.ApplyAsync(dispute, settings.StopDunningOnDispute, settings.GetPolicy(), cancellationToken);
        var now = clock.GetUtcNow();
        return await SaveAsync(dispute, d => d.PolicyAppliedAt is null ? d with { PolicyActions = actions, PolicyAppliedAt = now } : d, cancellationToken);
    }

    /// <summary>Closed and funds events follow the dispute's state, once per dispute, whatever the order events came in.</summary>
    private async Task PublishStateEventsAsync(Dispute dispute, CancellationToken cancellationToken)
    {
        var data = DisputeResponse.From(dispute);
        if (dispute.FundsWithdrawn > 0)
        {
            await notifier.PublishAsync(DisputeEventTypes.FundsWithdrawn, dispute.CustomerId, data, $"{DisputeEventTypes.FundsWithdrawn}:{dispute.StripeDisputeId}", cancellationToken);
        }

        if (dispute.IsClosed)
        {
            await notifier.PublishAsync(DisputeEventTypes.Closed, dispute.CustomerId, data, $"{DisputeEventTypes.Closed}:{dispute.StripeDisputeId}", cancellationToken);
        }

        if (dispute.DeadlineStatus == DeadlineStatus.PassedUnanswered)
        {
            // Also when a webhook is first processed after the deadline (the deadline work then never runs).
            await notifier.PublishAsync(DisputeEventTypes.DeadlinePassed, dispute.CustomerId, data, $"{DisputeEventTypes.DeadlinePassed}:{dispute.Id}", cancellationToken);
        }

        if (dispute.FundsReinstated > 0)
        {
            await notifier.PublishAsync(DisputeEventTypes.FundsReinstated, dispute.CustomerId, data, $"{DisputeEventTypes.FundsReinstated}:{dispute.StripeDisputeId}", cancellationToken);
        }
    }

    /// <summary>
    /// Our payment, invoice and customer for a Stripe dispute, from the PaymentIntent's metadata checked against our
    /// records; nothing when the payment was not made through this backend (the dispute is then kept unlinked).
    /// </summary>
    private async Task<DisputeLinks> LinkAsync(DisputeSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (snapshot.PaymentIntentId is not { } intent)
        {
            return new DisputeLinks(null, null, null, null);
        }

        IReadOnlyDictionary<string, string> metadata;
        try
        {
            metadata = (await payments.GetPaymentAsync(intent, cancellationToken)).Metadata;
        }
        catch (PaymentGatewayRejectedException)
        {
            return new DisputeLinks(null, null, null, null);
        }

        var customerId = metadata.GetValueOrDefault(GatewayMetadata.CustomerId);
        var paymentId = metadata.GetValueOrDefault(GatewayMetadata.PaymentId);
        var invoiceId = metadata.GetValueOrDefault(GatewayMetadata.InvoiceId);
        if (paymentId is not null && await paymentStore.GetAsync(paymentId, cancellationToken) is { } payment
            && (customerId is null || payment.CustomerId == customerId))
        {
            customerId = payment.CustomerId;
        }
        else
        {
            paymentId = null;
        }

        if (customerId is null || !Ids.IsValid(customerId, Customer.IdPrefix) || await customers.GetAsync(customerId, cancellationToken) is null)
        {
            return new DisputeLinks(null, null, null, null);
        }

        // The subscription comes from the invoice once invoices are stored on main (see IDisputePolicyActions).
        return new DisputeLinks(paymentId, invoiceId is not null && invoiceId.StartsWith("in_", StringComparison.Ordinal) ? invoiceId : null, customerId, metadata.GetValueOrDefault("billing_subscription_id"));
    }

    /// <summary>Evidence as Stripe takes it: invoice references become uploaded PDFs (uploaded once per dispute and invoice).</summary>
    private async Task<(Dictionary<string, string> ToStripe, Dictionary<string, string> Uploaded)> ResolveAsync(
        Dispute dispute, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken)
    {
        var toStripe = new Dictionary<string, string>(StringComparer.Ordinal);
        var uploaded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            if (DisputeEvidence.InvoiceReference(value) is not { } invoiceId)
            {
                toStripe[name] = value;
                continue;
            }

            if ((dispute.UploadedFiles.GetValueOrDefault(value) ?? uploaded.GetValueOrDefault(value)) is { } known)
            {
                toStripe[name] = known;
                continue;
            }

            if (dispute.CustomerId is not { } customerId)
            {
                throw DomainValidationException.For("evidence." + name, $"Dispute '{dispute.Id}' is not linked to a customer, so invoice '{invoiceId}' cannot be attached; upload the document to Stripe and send its file id.");
            }

            byte[] pdf;
            try
            {
                var blob = storage.Container(InvoicesContainer).GetBlobClient($"{customerId}/{invoiceId}.pdf");
                pdf = (await blob.DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw DomainValidationException.For("evidence." + name, $"Invoice '{invoiceId}' of this dispute's customer has no PDF; finalize the invoice first or send a Stripe file id.");
            }

            var fileId = await gateway.UploadEvidenceFileAsync($"{invoiceId}.pdf", "application/pdf", pdf, $"{dispute.Id}:file:{invoiceId}", cancellationToken);
            uploaded[value] = fileId;
            toStripe[name] = fileId;
        }

        return (toStripe, uploaded);
    }

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> existing, Dictionary<string, string> added)
    {
        var merged = new Dictionary<string, string>(existing, StringComparer.Ordinal);
        foreach (var (key, value) in added)
        {
            merged[key] = value;
        }

        return merged;
    }

    /// <summary>The customer's test-clock time, or real time (also for no or an unknown customer).</summary>
    private async Task<DateTimeOffset> NowForAsync(string? customerId, CancellationToken cancellationToken) =>
        await ClockIdAsync(customerId, cancellationToken) is not null ? await billingClock.NowForAsync(customerId!, cancellationToken) : clock.GetUtcNow();

    private async Task<string?> ClockIdAsync(string? customerId, CancellationToken cancellationToken) =>
        customerId is null ? null : await billingClock.ClockIdOfAsync(customerId, cancellationToken);

    /// <summary>The dispute object of an event, as a snapshot; null when it is not one.</summary>
    private static DisputeSnapshot? Snapshot(JsonNode? obj, DateTimeOffset observedAt)
    {
        if (obj is not JsonObject o || Text(o, "id") is not { } id || Text(o, "currency") is not { } code || !Currency.TryFromCode(code, out var currency))
        {
            return null;
        }

        var due = o["evidence_details"]?["due_by"] is JsonValue d && d.TryGetValue<long>(out var seconds) && seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : (DateTimeOffset?)null;
        long withdrawn = 0, reinstated = 0;
        foreach (var t in o["balance_transactions"] as JsonArray ?? [])
        {
            var amount = Long(t, "amount");
            var fee = Long(t, "fee");
            (withdrawn, reinstated) = amount < 0 ? (withdrawn - amount + fee, reinstated) : amount > 0 ? (withdrawn, reinstated + amount - fee) : (withdrawn, reinstated);
        }

        return new DisputeSnapshot(
            id,
            Text(o, "charge"),
            Text(o, "payment_intent"),
            new Money(currency.ToIsoMinor(Long(o, "amount")), currency),
            Text(o, "reason") ?? "general",
            Text(o, "status") ?? "needs_response",
            due,
            (int)Long(o["evidence_details"], "submission_count"),
            currency.ToIsoMinor(withdrawn),
            currency.ToIsoMinor(reinstated),
            observedAt);
    }

    private static string? Text(JsonNode? node, string name) => node?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static long Long(JsonNode? node, string name) => node?[name] is JsonValue value && value.TryGetValue<long>(out var n) ? n : 0;

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispute {DisputeId} created for Stripe dispute {StripeDisputeId} (customer {CustomerId}, unlinked {Unlinked})")]
    private static partial void LogCreated(ILogger logger, string disputeId, string stripeDisputeId, string? customerId, bool unlinked);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispute {DisputeId}: deadline reached with staged evidence; submitting it automatically")]
    private static partial void LogAutoSubmit(ILogger logger, string disputeId);
}

/// <summary>The <c>dispute.evidence_reminder</c> event's data.</summary>
public sealed record DisputeReminder(DisputeResponse Dispute, DateTimeOffset ReminderAt, DateTimeOffset? EvidenceDueBy, long HoursLeft);

/// <summary>The merchant event types disputes raise (all in <c>EventTypes.All</c>).</summary>
public static class DisputeEventTypes
{
    public const string Created = "charge.dispute.created";
    public const string Updated = "charge.dispute.updated";
    public const string Closed = "charge.dispute.closed";
    public const string FundsWithdrawn = "charge.dispute.funds_withdrawn";
    public const string FundsReinstated = "charge.dispute.funds_reinstated";
    public const string EvidenceReminder = "dispute.evidence_reminder";
    public const string DeadlinePassed = "dispute.deadline_passed";
}
