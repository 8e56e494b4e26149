using System.Text.Json.Nodes;
using Billing.Domain.Payments;
using Billing.Functions.Disputes;
using Billing.Functions.Invoices;
using Billing.Functions.Storage;
using Billing.Functions.Triggers;

namespace Billing.Functions.Payments;

/// <summary>
/// Processes stored Stripe events from the <c>stripe-events</c> queue. It never trusts an event's snapshot for state:
/// it re-reads the object from Stripe and mirrors that, so any order and any number of deliveries converge on Stripe's
/// truth (and a late, older event cannot overwrite a newer state). Events about objects we do not know (yet) are kept as
/// <see cref="StripeEventStatus.Unmatched"/> and re-examined later with growing delays; dispute events go to the
/// dispute process manager (<see cref="DisputeService"/>); payments of invoices (metadata <c>billing_invoice_id</c>)
/// settle the invoice's collection attempt; a refund of a credit note (metadata <c>billing_credit_note_id</c>) is mirrored
/// on the note as well (a failed one voids it); other types are acknowledged and ignored.
/// </summary>
public sealed partial class StripeEventsFunction(
    StripeEventStore events,
    PaymentService payments,
    DisputeService disputes,
    InvoiceService invoices,
    RefundCreditNoteService creditNotes,
    StorageClients clients,
    Telemetry.BillingMetrics metrics,
    TimeProvider clock,
    ILogger<StripeEventsFunction> logger) : IQueueFunction
{
    public const string Queue = "stripe-events";

    /// <summary>How many times an unmatched event is re-examined before it waits for manual reconciliation.</summary>
    public const int MaxUnmatchedAttempts = 8;

    public const string Name = "StripeEvents";

    public string FunctionName => Name;

    public string QueueName => Queue;

    public async Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var pointers = StripeEventMessage.ParseAll(message.Text);
        if (pointers.Count == 0)
        {
            LogUnknownMessage(logger, message.Id);
            return;
        }

        // Several events received together: each is processed (QueueMessage.HandleEachAsync); a redelivery skips those done.
        await QueueMessage.HandleEachAsync(pointers, pointer => HandleAsync(pointer, message, cancellationToken), cancellationToken);
    }

    private async Task HandleAsync(StripeEventMessage pointer, QueueMessage message, CancellationToken cancellationToken)
    {
        if (await events.GetStoredAsync(pointer.Type, pointer.Id, cancellationToken) is not var (record, etag))
        {
            LogUnknownMessage(logger, message.Id);
            return;
        }

        if (record.Status is StripeEventStatus.Processed or StripeEventStatus.Ignored)
        {
            return;
        }

        var (status, note) = await ProcessAsync(record, cancellationToken);
        var now = clock.GetUtcNow();
        var updated = await events.UpdateAsync(record, etag, r => r with
        {
            Status = status,
            Attempts = r.Attempts + 1,
            ProcessedAt = status == StripeEventStatus.Unmatched ? r.ProcessedAt : now,
            Note = note,
            Payload = status == StripeEventStatus.Unmatched ? r.Payload : "", // re-examined later; otherwise no longer needed
        }, cancellationToken);
        LogProcessed(logger, record.Id, record.Type, status);
        metrics.WebhookProcessed(record.Type, now - record.Created);
        if (status == StripeEventStatus.Unmatched && updated.Attempts < MaxUnmatchedAttempts)
        {
            var delay = TimeSpan.FromSeconds(Math.Min(3600, 30 * Math.Pow(2, updated.Attempts - 1)));
            await clients.Queue(Queue).SendMessageAsync(StripeEventMessage.Serialize(record.Type, record.Id), visibilityTimeout: delay, cancellationToken: cancellationToken);
        }
    }

    private async Task<(StripeEventStatus Status, string? Note)> ProcessAsync(StripeEventRecord record, CancellationToken cancellationToken)
    {
        var data = JsonNode.Parse(record.Payload)?["data"];
        var obj = data?["object"];
        var type = record.Type;
        if (type.StartsWith("charge.dispute.", StringComparison.Ordinal))
        {
            return await disputes.HandleEventAsync(record.Id, type, obj, record.Created, cancellationToken) is { } dispute
                ? (StripeEventStatus.Processed, dispute.Id)
                : (StripeEventStatus.Ignored, "no dispute object on the event");
        }

        var paymentIntent = StripeEventTriage.PaymentIntentOf(type, obj);
        if (StripeEventTriage.InvoicePaymentOf(type, obj) is { } invoicePayment)
        {
            if (StripeEventTriage.IgnoredInvoicePaymentNote(type, invoicePayment) is { } ignored)
            {
                return (StripeEventStatus.Ignored, ignored);
            }

            // An invoice's collection attempt (e.g. 3-D Secure completed in the browser): settle it on the invoice.
            var (intent, invoiceId, customerId, attempt) = invoicePayment;
            return await invoices.ReconcilePaymentAsync(invoiceId, intent, customerId, attempt, cancellationToken)
                ? (StripeEventStatus.Processed, invoiceId)
                : (StripeEventStatus.Unmatched, "no attempt of invoice " + invoiceId + " matches " + intent);
        }

        if (paymentIntent is not null)
        {
            if (await payments.ReconcileAsync(paymentIntent, cancellationToken) is not { } payment)
            {
                return (StripeEventStatus.Unmatched, "no payment of ours matches " + paymentIntent);
            }

            if (type.StartsWith("refund.", StringComparison.Ordinal) && Text(obj?["metadata"], GatewayMetadata.CreditNoteId) is { } creditNote
                && await invoices.Store.GetAsync<Domain.Invoicing.CreditNote>(payment.CustomerId, TableInvoicingStore.CreditNoteRow(creditNote), cancellationToken) is not null)
            {
                await creditNotes.CompleteAsync(payment.CustomerId, creditNote, cancellationToken);
            }

            return (StripeEventStatus.Processed, payment.Id);
        }

        string? customer;
        string? candidate;
        switch (type)
        {
            case "setup_intent.succeeded":
                (customer, candidate) = (Text(obj, "customer"), Text(obj, "payment_method"));
                break;
            case "payment_method.attached":
                (customer, candidate) = (Text(obj, "customer"), Text(obj, "id"));
                break;
            case "payment_method.detached":
                (customer, candidate) = (Text(data?["previous_attributes"], "customer"), null);
                break;
            case "customer.updated":
                (customer, candidate) = (Text(obj, "id"), null);
                break;
            default:
                return (type.StartsWith("charge.", StringComparison.Ordinal) || type.StartsWith("refund.", StringComparison.Ordinal)) && obj?["payment_intent"] is null
                    ? (StripeEventStatus.Unmatched, "no payment intent on the object")
                    : (StripeEventStatus.Ignored, null);
        }

        if (customer is null)
        {
            return (StripeEventStatus.Ignored, "no customer on the object");
        }

        return await payments.SyncDefaultPaymentMethodAsync(customer, candidate, cancellationToken) is { } synced
            ? (StripeEventStatus.Processed, synced.Id)
            : (StripeEventStatus.Unmatched, "no customer of ours matches " + customer);
    }

    private static string? Text(JsonNode? node, string name) => StripeEventTriage.Text(node, name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe event message {MessageId} points at no stored event; dropped")]
    private static partial void LogUnknownMessage(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe event {EventId} ({Type}): {Status}")]
    private static partial void LogProcessed(ILogger logger, string eventId, string type, StripeEventStatus status);
}
