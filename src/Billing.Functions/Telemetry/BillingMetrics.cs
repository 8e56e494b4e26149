using System.Diagnostics.Metrics;

namespace Billing.Functions.Telemetry;

/// <summary>
/// The billing instruments (meter <c>Billing</c>), one place for every area to record business events. Tags are low
/// cardinality (currency, reason, kind); never ids, amounts per customer, card data or payloads.
/// </summary>
public sealed class BillingMetrics
{
    public const string MeterName = "Billing";

    private readonly Counter<long> paymentsSucceeded;
    private readonly Counter<long> paymentsFailed;
    private readonly Counter<long> renewals;
    private readonly Counter<long> dunningRecoveries;
    private readonly Histogram<double> webhookLag;
    private long dueWorkBacklog;

    public BillingMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        paymentsSucceeded = meter.CreateCounter<long>("billing.payments.succeeded", "{payment}", "Payments that succeeded.");
        paymentsFailed = meter.CreateCounter<long>("billing.payments.failed", "{payment}", "Payments that failed, by reason (decline code or error kind).");
        renewals = meter.CreateCounter<long>("billing.renewals", "{renewal}", "Subscription periods renewed (an invoice was created for the new period).");
        dunningRecoveries = meter.CreateCounter<long>("billing.dunning.recoveries", "{invoice}", "Past-due invoices paid by a dunning retry.");
        webhookLag = meter.CreateHistogram<double>("billing.webhook.lag", "s", "Time from a Stripe event's creation to its processing.");
        meter.CreateObservableGauge("billing.due_work.backlog", () => Interlocked.Read(ref dueWorkBacklog), "{item}", "Due work items found overdue by the last sweep.");
    }

    public void PaymentSucceeded(string currency) => paymentsSucceeded.Add(1, new KeyValuePair<string, object?>("currency", currency));

    public void PaymentFailed(string currency, string reason) =>
        paymentsFailed.Add(1, new KeyValuePair<string, object?>("currency", currency), new KeyValuePair<string, object?>("reason", reason));

    public void Renewed(string currency) => renewals.Add(1, new KeyValuePair<string, object?>("currency", currency));

    public void DunningRecovered(int attempt) => dunningRecoveries.Add(1, new KeyValuePair<string, object?>("attempt", attempt));

    public void WebhookProcessed(string eventType, TimeSpan lag) =>
        webhookLag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>("event_type", eventType));

    /// <summary>The number of due items still waiting after a sweep (a gauge: the last value wins).</summary>
    public void DueWorkBacklog(long count) => Interlocked.Exchange(ref dueWorkBacklog, Math.Max(0, count));
}
