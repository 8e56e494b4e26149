using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Billing.Functions.Dunning;

/// <summary>Payment retry settings (section <c>Dunning</c>).</summary>
public sealed class DunningOptions : IValidatableObject
{
    public const string Section = "Dunning";

    /// <summary>Days after the failed collection at which to retry, comma-separated and increasing, e.g. <c>1,3,5,7</c> (the default).</summary>
    public string RetryDays { get; set; } = "1,3,5,7";

    /// <summary>What happens to the subscription when the retries are exhausted: <c>unpaid</c> (default), <c>canceled</c> or <c>past_due</c> (left as is).</summary>
    public string ExhaustedOutcome { get; set; } = "unpaid";

    /// <summary>Mark the invoice uncollectible when the retries are exhausted.</summary>
    public bool MarkUncollectible { get; set; }

    public IReadOnlyList<int> GetRetryDays() => ParseDays(RetryDays) ?? [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ParseDays(RetryDays) is null)
        {
            yield return new ValidationResult("Dunning:RetryDays must be a comma-separated, increasing list of days between 1 and 60, e.g. '1,3,5,7' (empty: no retries).", [nameof(RetryDays)]);
        }

        if (ExhaustedOutcome is not ("unpaid" or "canceled" or "past_due"))
        {
            yield return new ValidationResult("Dunning:ExhaustedOutcome must be unpaid, canceled or past_due.", [nameof(ExhaustedOutcome)]);
        }
    }

    /// <summary>Parses <c>1,3,5,7</c>; null when malformed or not increasing.</summary>
    public static IReadOnlyList<int>? ParseDays(string? text)
    {
        var days = new List<int>();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var day) || day is < 1 or > 60 || (days.Count > 0 && day <= days[^1]))
            {
                return null;
            }

            days.Add(day);
        }

        return days.Count > 12 ? null : days;
    }
}
