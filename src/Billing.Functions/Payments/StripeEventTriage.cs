using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Billing.Domain.Payments;
using Billing.Functions.Invoices;

namespace Billing.Functions.Payments;

/// <summary>An event about a payment of one of our invoices: the payment intent and what its metadata names.</summary>
public sealed record InvoicePaymentEvent(string PaymentIntent, string InvoiceId, string? CustomerId, int? Attempt);

/// <summary>
/// Decides at receipt, for the events whose processing is known to change nothing, what
/// <see cref="StripeEventsFunction"/> would decide, so the webhook stores them already processed or ignored instead of
/// queueing them. Each renewal's payment brings three Stripe events (<c>payment_intent.created</c>,
/// <c>charge.succeeded</c>, <c>payment_intent.succeeded</c>) whose outcome the renewal has already recorded; queued, each
/// would cost a send, a receive, a delete and a read and write of the stored event. Anything else, or anything in doubt,
/// is queued as before.
/// </summary>
public sealed class StripeEventTriage(InvoiceService invoices)
{
    /// <summary>
    /// The status and note to store <paramref name="type"/> with at once, or null to queue it: an invoice payment's
    /// <c>payment_intent.created</c> (ignored, as processing would), or an event about an invoice payment whose attempt
    /// this instance has already settled (<see cref="InvoiceService.IsSettledAsync"/>).
    /// </summary>
    public async Task<(StripeEventStatus Status, string Note)?> DecideAsync(string type, string payload, CancellationToken cancellationToken = default)
    {
        if (!type.StartsWith("payment_intent.", StringComparison.Ordinal) && !type.StartsWith("charge.", StringComparison.Ordinal))
        {
            return null;
        }

        JsonNode? obj;
        try
        {
            obj = JsonNode.Parse(payload)?["data"]?["object"];
        }
        catch (JsonException)
        {
            return null;
        }

        if (InvoicePaymentOf(type, obj) is not { } payment)
        {
            return null;
        }

        if (IgnoredInvoicePaymentNote(type, payment) is { } ignored)
        {
            return (StripeEventStatus.Ignored, ignored);
        }

        return payment is { CustomerId: { } customer, Attempt: { } attempt }
            && await invoices.IsSettledAsync(payment.InvoiceId, payment.PaymentIntent, customer, attempt, cancellationToken)
                ? (StripeEventStatus.Processed, payment.InvoiceId)
                : null;
    }

    /// <summary>The payment intent an event is about: the object itself, or the charge's or refund's <c>payment_intent</c>.</summary>
    public static string? PaymentIntentOf(string type, JsonNode? obj) => type switch
    {
        _ when type.StartsWith("payment_intent.", StringComparison.Ordinal) => Text(obj, "id"),
        "charge.refunded" or "charge.refund.updated" or "charge.succeeded" or "charge.failed" or "charge.captured"
            or "refund.created" or "refund.updated" or "refund.failed" => Text(obj, "payment_intent"),
        _ => null,
    };

    /// <summary>The invoice payment an event is about (metadata <c>billing_invoice_id</c> on its payment intent), or null.</summary>
    public static InvoicePaymentEvent? InvoicePaymentOf(string type, JsonNode? obj)
    {
        if (PaymentIntentOf(type, obj) is not { } paymentIntent || Text(obj?["metadata"], GatewayMetadata.InvoiceId) is not { } invoiceId)
        {
            return null;
        }

        var metadata = obj?["metadata"];
        var attempt = int.TryParse(Text(metadata, GatewayMetadata.InvoiceAttempt), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
        return new InvoicePaymentEvent(paymentIntent, invoiceId, Text(metadata, GatewayMetadata.CustomerId), attempt);
    }

    /// <summary>
    /// The note for an invoice payment event that settles nothing: <c>payment_intent.created</c> says nothing about the
    /// outcome; the events that settle the payment (succeeded, payment_failed, requires_action, …) follow, and each
    /// converges the attempt.
    /// </summary>
    public static string? IgnoredInvoicePaymentNote(string type, InvoicePaymentEvent payment)
    {
        ArgumentNullException.ThrowIfNull(payment);
        return type == "payment_intent.created" ? "payment of invoice " + payment.InvoiceId + " created; settled by the events that follow" : null;
    }

    public static string? Text(JsonNode? node, string name) => node?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
