using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Billing.Domain.Disputes;

namespace Billing.Functions.Disputes;

/// <summary>Dispute handling settings (section <c>Disputes</c>).</summary>
public sealed class DisputeOptions : IValidatableObject
{
    public const string Section = "Disputes";

    /// <summary>
    /// How long before <c>evidence_due_by</c> to remind the merchant: a comma-separated list of durations with a unit
    /// (<c>m</c>, <c>h</c> or <c>d</c>), e.g. <c>72h,24h</c> (the default).
    /// </summary>
    public string ReminderOffsets { get; set; } = "72h,24h";

    /// <summary>At the deadline, submit evidence that was staged but never submitted (instead of letting it pass unanswered).</summary>
    public bool AutoSubmitStagedEvidence { get; set; }

    /// <summary>Stop retrying the customer's failed payments (dunning) when a dispute opens.</summary>
    public bool StopDunningOnDispute { get; set; } = true;

    /// <summary>What happens to the subscription a disputed payment paid for: <c>none</c>, <c>cancel</c> or <c>pause_collection</c>.</summary>
    public string SubscriptionPolicy { get; set; } = "none";

    /// <summary>The reminder offsets, largest first.</summary>
    public IReadOnlyList<TimeSpan> GetOffsets() => ParseOffsets(ReminderOffsets) ?? [];

    public DisputeSubscriptionPolicy GetPolicy() => SubscriptionPolicy switch
    {
        "cancel" => DisputeSubscriptionPolicy.Cancel,
        "pause_collection" => DisputeSubscriptionPolicy.PauseCollection,
        _ => DisputeSubscriptionPolicy.None,
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ParseOffsets(ReminderOffsets) is null)
        {
            yield return new ValidationResult(
                "Disputes:ReminderOffsets must be a comma-separated list of positive durations of at most 60 days with a unit, e.g. '72h,24h'.", [nameof(ReminderOffsets)]);
        }

        if (SubscriptionPolicy is not ("none" or "cancel" or "pause_collection"))
        {
            yield return new ValidationResult("Disputes:SubscriptionPolicy must be none, cancel or pause_collection.", [nameof(SubscriptionPolicy)]);
        }
    }

    /// <summary>Parses <c>72h,24h</c>-style lists, largest first; null when malformed.</summary>
    public static IReadOnlyList<TimeSpan>? ParseOffsets(string? text)
    {
        var offsets = new List<TimeSpan>();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Length < 2 || !int.TryParse(part[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            {
                return null;
            }

            TimeSpan? offset = part[^1] switch
            {
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (offset is not { } o || o > TimeSpan.FromDays(60))
            {
                return null;
            }

            offsets.Add(o);
        }

        return [.. offsets.Distinct().OrderDescending()];
    }
}
