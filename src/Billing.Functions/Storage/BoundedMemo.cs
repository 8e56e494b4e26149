using System.Collections.Concurrent;

namespace Billing.Functions.Storage;

/// <summary>
/// What one instance remembers to skip work: a storage round trip (a customer's clock binding, a row written moments ago,
/// a de-duplication key seen stored) or shaping a line of PDF text again. It keeps the most recently set entries, at
/// least <c>limit</c> and at most twice that, in two generations: when the current one is full it becomes the previous
/// one and the one before is dropped, so what was set recently survives a turnover, memory stays bounded, and a
/// forgotten entry only costs the work it saved.
/// </summary>
public sealed class BoundedMemo<TKey, TValue>(int limit)
    where TKey : notnull
{
    private readonly Lock turnover = new();
    private volatile ConcurrentDictionary<TKey, TValue> current = new();
    private volatile ConcurrentDictionary<TKey, TValue> previous = new();

    /// <summary>Entries remembered now (both generations; a key set in both counts twice).</summary>
    public int Count => current.Count + previous.Count;

    /// <summary>
    /// Reads both generations. A read does not carry an entry into the current one: only <see cref="Set"/> writes, so a
    /// <see cref="Forget"/> is never undone by a concurrent read.
    /// </summary>
    public bool TryGet(TKey key, out TValue value) => current.TryGetValue(key, out value!) || previous.TryGetValue(key, out value!);

    public bool Contains(TKey key) => TryGet(key, out _);

    public void Set(TKey key, TValue value)
    {
        var generation = current;
        if (generation.Count >= limit)
        {
            lock (turnover)
            {
                if (ReferenceEquals(generation, current))
                {
                    previous = current;
                    current = new ConcurrentDictionary<TKey, TValue>();
                }
            }
        }

        current[key] = value;
    }

    public void Forget(TKey key)
    {
        current.TryRemove(key, out _);
        previous.TryRemove(key, out _);
    }
}
