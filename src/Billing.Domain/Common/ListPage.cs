namespace Billing.Domain;

/// <summary>One page of a newest-first list and whether older items follow (cursor pagination like Stripe's).</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore);
