using System.Globalization;
using Billing.Domain;

namespace Billing.Functions.Http;

/// <summary>Cursor pagination parameters shared by every list endpoint: <c>limit</c> (1–100, default 10) and <c>starting_after</c>.</summary>
public readonly record struct Paging(int Limit, string? StartingAfter)
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 100;

    /// <summary>Parses the query; bad values are added to <paramref name="errors"/>.</summary>
    public static Paging From(HttpRequest request, string idPrefix, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(errors);
        var limit = DefaultLimit;
        if (request.Query.TryGetValue("limit", out var raw))
        {
            if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit)
            {
                errors.Add("limit", $"Must be a whole number from 1 to {MaxLimit}.");
                limit = DefaultLimit;
            }
        }

        string? after = request.Query["starting_after"];
        if (after is not null && !Ids.IsValid(after, idPrefix))
        {
            errors.Add("starting_after", $"Must be the id of a '{idPrefix}' object from a previous page.");
            after = null;
        }

        return new Paging(limit, after);
    }

    /// <summary>Parses an optional boolean query parameter.</summary>
    public static bool? Flag(HttpRequest request, string name, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(errors);
        string? raw = request.Query[name];
        if (raw is null)
        {
            return null;
        }

        if (bool.TryParse(raw, out var value))
        {
            return value;
        }

        errors.Add(name, "Must be true or false.");
        return null;
    }
}

/// <summary>A page of results on the wire: <c>{"object":"list","data":[…],"has_more":…,"url":…}</c>.</summary>
public sealed record ListResponse<T>(IReadOnlyList<T> Data, bool HasMore, string Url)
{
    public string Object => "list";
}
