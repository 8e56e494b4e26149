using System.Collections.Concurrent;

namespace Billing.Functions.Storage;

/// <summary>
/// What one instance remembers to skip a storage round trip (a customer's clock binding, a row written moments ago, a
/// de-duplication key seen stored): the most recently set entries, at least <c>limit</c> and at most twice that. Entries
/// are kept in two generations: when the current one is full it becomes the previous one and the one before is dropped,
/// so what was set recently survives a turnover, memory stays bounded, and a forgotten entry only costs the
/// read or write it saved. Everything remembered here is only useful for seconds to minutes after it was set.
/// </summary>
public sealed class BoundedMemo<TValue>(int limit)
{
    private readonly Lock turnover = new();
    private volatile ConcurrentDictionary<string, TValue> current = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, TValue> previous = new(StringComparer.Ordinal);

    /// <summary>Entries remembered now (both generations; a key set in both counts twice).</summary>
    public int Count => current.Count + previous.Count;

    /// <summary>
    /// Reads both generations. A read does not carry an entry into the current one: only <see cref="Set"/> writes, so a
    /// <see cref="Forget"/> is never undone by a concurrent read.
    /// </summary>
    public bool TryGet(string key, out TValue value) => current.TryGetValue(key, out value!) || previous.TryGetValue(key, out value!);

    public bool Contains(string key) => TryGet(key, out _);

    public void Set(string key, TValue value)
    {
        var generation = current;
        if (generation.Count >= limit)
        {
            lock (turnover)
            {
                if (ReferenceEquals(generation, current))
                {
                    previous = current;
                    current = new ConcurrentDictionary<string, TValue>(StringComparer.Ordinal);
                }
            }
        }

        current[key] = value;
    }

    public void Forget(string key)
    {
        current.TryRemove(key, out _);
        previous.TryRemove(key, out _);
    }
}
