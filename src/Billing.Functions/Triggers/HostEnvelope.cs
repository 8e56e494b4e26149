using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Billing.Functions.Triggers;

/// <summary>
/// The Functions host's custom-handler envelopes for non-HTTP triggers: requests <c>{"Data":{…},"Metadata":{…}}</c>,
/// responses <c>{"Outputs":{…},"Logs":[…],"ReturnValue":…}</c>. The host passes every non-object value through
/// <c>JsonConvert.SerializeObject</c>, so a queue message text arrives double-encoded (<c>"\"{…}\""</c>) and numbers
/// such as <c>DequeueCount</c> may arrive as strings (<c>"1"</c>); both forms are accepted.
/// </summary>
public static class HostEnvelope
{
    /// <summary>A string value, decoded once more when the host double-encoded it; objects and arrays as raw JSON.</summary>
    public static string? Unwrap(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
                {
                    try
                    {
                        return JsonSerializer.Deserialize<string>(text) ?? text;
                    }
                    catch (JsonException)
                    {
                        return text;
                    }
                }

                return text;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            default:
                return value.GetRawText();
        }
    }

    /// <summary>A number that may arrive as a JSON number or a (possibly quoted) numeric string.</summary>
    public static long? Number(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var n) => n,
        JsonValueKind.String when long.TryParse(Unwrap(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };

    /// <summary>A timestamp from the metadata, in either form.</summary>
    public static DateTimeOffset? Time(JsonElement value) =>
        DateTimeOffset.TryParse(Unwrap(value), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    /// <summary>Reads a queue-trigger invocation: the message text (the single trigger value in <c>Data</c>) and its metadata.</summary>
    public static QueueMessage ReadQueueInvocation(JsonElement envelope)
    {
        if (!envelope.TryGetProperty("Data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The invocation has no Data object.");
        }

        var trigger = data.EnumerateObject().FirstOrDefault();
        var text = trigger.Value.ValueKind == JsonValueKind.Undefined ? null : Unwrap(trigger.Value);
        if (text is null)
        {
            throw new JsonException("The invocation carries no queue message.");
        }

        envelope.TryGetProperty("Metadata", out var metadata);
        string? id = null;
        long dequeueCount = 1;
        DateTimeOffset? inserted = null;
        if (metadata.ValueKind == JsonValueKind.Object)
        {
            if (metadata.TryGetProperty("Id", out var idValue))
            {
                id = Unwrap(idValue);
            }

            if (metadata.TryGetProperty("DequeueCount", out var countValue))
            {
                dequeueCount = Number(countValue) ?? 1;
            }

            if (metadata.TryGetProperty("InsertionTime", out var insertedValue))
            {
                inserted = Time(insertedValue);
            }
        }

        return new QueueMessage(id ?? "", text, dequeueCount, inserted);
    }

    /// <summary>Reads a timer-trigger invocation (<c>IsPastDue</c> and the schedule status may be missing).</summary>
    public static TimerInvocation ReadTimerInvocation(JsonElement envelope)
    {
        var pastDue = false;
        DateTimeOffset? utcNow = null;
        if (envelope.TryGetProperty("Data", out var data) && data.ValueKind == JsonValueKind.Object)
        {
            var timer = data.EnumerateObject().FirstOrDefault().Value;
            if (timer.ValueKind == JsonValueKind.String && Unwrap(timer) is { } json)
            {
                timer = JsonDocument.Parse(json).RootElement.Clone();
            }

            if (timer.ValueKind == JsonValueKind.Object && timer.TryGetProperty("IsPastDue", out var pastDueValue))
            {
                pastDue = pastDueValue.ValueKind == JsonValueKind.True || (pastDueValue.ValueKind == JsonValueKind.String && bool.TryParse(Unwrap(pastDueValue), out var parsed) && parsed);
            }
        }

        if (envelope.TryGetProperty("Metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object &&
            metadata.TryGetProperty("sys", out var sys) && sys.ValueKind == JsonValueKind.Object && sys.TryGetProperty("UtcNow", out var now))
        {
            utcNow = Time(now);
        }

        return new TimerInvocation(pastDue, utcNow);
    }

    /// <summary>The response the host expects: outputs by binding name, log lines, no return value.</summary>
    public static JsonObject Response(IEnumerable<string>? logs = null, JsonObject? outputs = null) => new()
    {
        ["Outputs"] = outputs ?? [],
        ["Logs"] = new JsonArray([.. (logs ?? []).Select(l => (JsonNode?)JsonValue.Create(l))]),
        ["ReturnValue"] = null,
    };
}

/// <summary>What the host tells a timer function: whether the run is late, and the host's clock.</summary>
public sealed record TimerInvocation(bool IsPastDue, DateTimeOffset? HostUtcNow);
