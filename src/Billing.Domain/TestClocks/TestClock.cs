namespace Billing.Domain.TestClocks;

/// <summary>
/// Simulated time for the customers attached to it, like Stripe's test clocks: frozen until advanced, and advancing it
/// runs every renewal, retry and deadline that falls due on the way, in order, each at its own due time. Time only
/// moves forward, at most two years per advance.
/// </summary>
public sealed record TestClock
{
    public const string IdPrefix = "clock";

    public static readonly TimeSpan MaxAdvance = TimeSpan.FromDays(731);

    public required string Id { get; init; }

    public string? Name { get; init; }

    public DateTimeOffset FrozenTime { get; init; }

    /// <summary><c>ready</c>, or <c>advancing</c> while due work runs.</summary>
    public string Status { get; init; } = "ready";

    public DateTimeOffset Created { get; init; }

    public static TestClock Create(string id, string? name, DateTimeOffset? frozenTime, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        errors.AddIf(frozenTime is null, "frozen_time", "Is required.");
        errors.AddIf(name is { Length: > 300 }, "name", "Must be at most 300 characters.");
        errors.AddIf(frozenTime is { } t && (t.Year < 2000 || t.Year > 2100), "frozen_time", "Must be between the years 2000 and 2100.");
        errors.ThrowIfAny();
        return new TestClock { Id = id, Name = name, FrozenTime = Truncate(frozenTime!.Value), Created = now };
    }

    /// <summary>Validates a move to <paramref name="target"/>: forward only, at most <see cref="MaxAdvance"/>.</summary>
    public DateTimeOffset ValidateAdvance(DateTimeOffset? target)
    {
        var errors = new ValidationErrors();
        errors.AddIf(target is null, "frozen_time", "Is required.");
        errors.AddIf(target is { } t && Truncate(t) <= FrozenTime, "frozen_time", "Must be later than the clock's current time.");
        errors.AddIf(target is { } u && Truncate(u) - FrozenTime > MaxAdvance, "frozen_time", "A clock moves at most two years per advance.");
        errors.ThrowIfAny();
        if (Status != "ready")
        {
            throw new InvalidStateException($"Test clock '{Id}' is already advancing.", "test_clock_advancing");
        }

        return Truncate(target!.Value);
    }

    /// <summary>Test clocks tick in whole seconds, like Stripe's.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}
