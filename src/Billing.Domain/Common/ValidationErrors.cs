namespace Billing.Domain;

/// <summary>
/// Collects field-level problems with a request or a state change, keyed by the field's wire name
/// (<c>billing_address.country</c>), so the API can answer one 400 that lists them all.
/// </summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool IsEmpty => errors.Count == 0;

    public ValidationErrors Add(string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
        return this;
    }

    /// <summary>Adds <paramref name="message"/> for <paramref name="field"/> when <paramref name="failed"/> is true.</summary>
    public ValidationErrors AddIf(bool failed, string field, string message) => failed ? Add(field, message) : this;

    public IReadOnlyDictionary<string, string[]> ToDictionary() =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    /// <summary>Throws <see cref="DomainValidationException"/> when anything was added.</summary>
    public void ThrowIfAny()
    {
        if (!IsEmpty)
        {
            throw new DomainValidationException(ToDictionary());
        }
    }
}

/// <summary>A request or state change broke a billing rule; carries the offending fields. Maps to HTTP 400.</summary>
public sealed class DomainValidationException(IReadOnlyDictionary<string, string[]> errors)
    : Exception("One or more fields are invalid.")
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static DomainValidationException For(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>The object exists but the requested change is not allowed in its current state. Maps to HTTP 409.</summary>
public sealed class InvalidStateException(string message, string code = "invalid_state") : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The object does not exist (or is not visible to the caller). Maps to HTTP 404.</summary>
public sealed class NotFoundException(string kind, string id) : Exception($"No such {kind}: '{id}'.")
{
    public string Kind { get; } = kind;

    public string Id { get; } = id;
}

/// <summary>An optimistic-concurrency update kept losing to concurrent writers. Maps to HTTP 409.</summary>
public sealed class ConcurrencyConflictException(string message) : Exception(message);
