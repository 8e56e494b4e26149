namespace Billing.StripeEmulator;

/// <summary>What an injected fault does.</summary>
public enum FaultKind
{
    /// <summary>Answer HTTP 500 with Stripe's <c>api_error</c>.</summary>
    ServerError,

    /// <summary>Answer HTTP 429 with Stripe's <c>rate_limit</c> error.</summary>
    RateLimit,

    /// <summary>
    /// Hold the request until the client gives up (its cancellation token fires); with a
    /// <see cref="FaultRule.Delay"/>, hold at most that long, then answer normally.
    /// </summary>
    Timeout,

    /// <summary>Add <see cref="FaultRule.Delay"/> of latency, then answer normally.</summary>
    Latency,
}

/// <summary>When the fault applies relative to the emulated operation.</summary>
public enum FaultPhase
{
    /// <summary>Before the operation: nothing happened on the emulator side.</summary>
    BeforeOperation,

    /// <summary>After the operation: the state changed (and the idempotent result was saved) but the client sees the fault.</summary>
    AfterOperation,
}

/// <summary>A fault injection rule matched by HTTP method and path prefix.</summary>
public sealed class FaultRule
{
    /// <summary>HTTP method to match (GET/POST/DELETE); null matches any.</summary>
    public string? Method { get; init; }

    /// <summary>Path prefix to match, e.g. <c>/v1/payment_intents</c>.</summary>
    public string PathPrefix { get; init; } = "/v1/";

    /// <summary>The fault.</summary>
    public FaultKind Kind { get; init; } = FaultKind.ServerError;

    /// <summary>Before or after the operation.</summary>
    public FaultPhase Phase { get; init; } = FaultPhase.BeforeOperation;

    /// <summary>How many times the rule fires (null = unlimited).</summary>
    public int? Count { get; init; } = 1;

    /// <summary>Probability that a matching request is hit (0..1).</summary>
    public double Probability { get; init; } = 1.0;

    /// <summary>Latency to add, or the maximum hold for <see cref="FaultKind.Timeout"/>.</summary>
    public TimeSpan? Delay { get; init; }

    internal int Remaining;

    internal int Hits;

    /// <summary>How many times this rule fired.</summary>
    public int HitCount => Volatile.Read(ref Hits);
}

/// <summary>The registry of fault rules of one emulator.</summary>
public sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private readonly List<FaultRule> _rules = [];
    private int _triggered;

    /// <summary>Total number of injected faults.</summary>
    public int TriggeredCount => Volatile.Read(ref _triggered);

    /// <summary>Adds a rule and returns it (inspect <see cref="FaultRule.HitCount"/>).</summary>
    public FaultRule Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Remaining = rule.Count ?? int.MaxValue;
        lock (_gate)
        {
            _rules.Add(rule);
        }

        return rule;
    }

    /// <summary>Injects <paramref name="kind"/> on the next <paramref name="count"/> matching requests.</summary>
    public FaultRule FailNext(
        string method, string pathPrefix, FaultKind kind = FaultKind.ServerError, int count = 1,
        FaultPhase phase = FaultPhase.BeforeOperation, TimeSpan? delay = null) =>
        Add(new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = kind, Count = count, Phase = phase, Delay = delay });

    /// <summary>Injects <paramref name="kind"/> with a probability on every matching request.</summary>
    public FaultRule FailRandomly(
        string? method, string pathPrefix, double probability, FaultKind kind = FaultKind.ServerError,
        FaultPhase phase = FaultPhase.BeforeOperation, TimeSpan? delay = null) =>
        Add(new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = kind, Count = null, Probability = probability, Phase = phase, Delay = delay });

    /// <summary>Adds latency to every matching request.</summary>
    public FaultRule AddLatency(string? method, string pathPrefix, TimeSpan latency) =>
        Add(new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = FaultKind.Latency, Count = null, Delay = latency });

    /// <summary>Removes a rule.</summary>
    public void Remove(FaultRule rule)
    {
        lock (_gate)
        {
            _rules.Remove(rule);
        }
    }

    /// <summary>Removes all rules.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    internal List<FaultRule> Match(string method, string path, FaultPhase phase)
    {
        var hits = new List<FaultRule>();
        lock (_gate)
        {
            foreach (var rule in _rules)
            {
                if (rule.Phase != phase || rule.Remaining <= 0)
                {
                    continue;
                }

                if (rule.Method is not null && !string.Equals(rule.Method, method, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!path.StartsWith(rule.PathPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

#pragma warning disable CA5394 // test infrastructure: randomness is not security relevant
                if (rule.Probability < 1.0 && Random.Shared.NextDouble() >= rule.Probability)
#pragma warning restore CA5394
                {
                    continue;
                }

                rule.Remaining--;
                rule.Hits++;
                _triggered++;
                hits.Add(rule);
            }

            _rules.RemoveAll(r => r.Remaining <= 0);
        }

        return hits;
    }
}
