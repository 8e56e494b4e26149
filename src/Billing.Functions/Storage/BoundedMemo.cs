using System.Collections.Concurrent;

namespace Billing.Functions.Storage;

/// <summary>
/// What one instance remembers to skip a storage round trip (a customer's clock binding, a row written moments ago, a
/// de-duplication key seen stored): a concurrent map with at most <c>limit</c> entries, forgotten all at once when full,
/// so memory stays bounded and a forgotten entry only costs the read or write it saved.
/// </summary>
public sealed class BoundedMemo<TValue>(int limit)
{
    private readonly ConcurrentDictionary<string, TValue> entries = new(StringComparer.Ordinal);

    public bool TryGet(string key, out TValue value) => entries.TryGetValue(key, out value!);

    public bool Contains(string key) => entries.ContainsKey(key);

    public void Set(string key, TValue value)
    {
        if (entries.Count >= limit)
        {
            entries.Clear();
        }

        entries[key] = value;
    }

    public void Forget(string key) => entries.TryRemove(key, out _);
}
