using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Billing.Functions.Telemetry;

/// <summary>
/// Carries the W3C trace context through queue messages, so one trace runs from the HTTP request (or webhook) through
/// the Stripe calls to the queued work. Where the app enqueues JSON, call <see cref="Inject"/> on the message object:
/// it adds a top-level <c>traceparent</c> (and <c>tracestate</c>) property, which the Functions host also copies into
/// the trigger's <c>Metadata</c>. Where a queue function runs, wrap the work in <see cref="StartProcessing"/>.
/// Message types that reject unknown JSON members must declare a <c>traceparent</c> property (or ignore it).
/// </summary>
public static class QueueTraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    /// <summary>Adds the current activity's trace context to <paramref name="message"/> (no-op without an activity).</summary>
    public static JsonObject Inject(JsonObject message, Activity? activity = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        activity ??= Activity.Current;
        if (activity is { IdFormat: ActivityIdFormat.W3C, Id: { } id })
        {
            message[TraceParent] = id;
            if (!string.IsNullOrEmpty(activity.TraceStateString))
            {
                message[TraceState] = activity.TraceStateString;
            }
        }

        return message;
    }

    /// <summary>
    /// Starts the consumer activity for one message of <paramref name="functionName"/>, parented to the trace context
    /// in the message (or its host metadata) when there is one. Dispose it when the work ends.
    /// </summary>
    public static Activity? StartProcessing(string functionName, string? traceParent, string? traceState = null)
    {
        ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent);
        var activity = BillingTelemetry.ActivitySource.StartActivity($"{functionName} process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "azure_queue");
        activity?.SetTag("faas.trigger", "pubsub");
        return activity;
    }

    /// <summary>The <c>traceparent</c> of a JSON message text, or null.</summary>
    public static string? Extract(string messageText)
    {
        try
        {
            return JsonNode.Parse(messageText) is JsonObject json && json[TraceParent] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
