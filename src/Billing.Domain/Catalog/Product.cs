namespace Billing.Domain.Catalog;

/// <summary>Something the merchant sells (a plan, an add-on). Prices hang off it; archiving hides it from new sales.</summary>
public sealed record Product
{
    public const string IdPrefix = "prod";

    public required string Id { get; init; }

    public required string Name { get; init; }

    public string? Description { get; init; }

    public bool Active { get; init; } = true;

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public DateTimeOffset Created { get; init; }

    public static Product Create(string id, string? name, string? description, IReadOnlyDictionary<string, string>? metadata, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrWhiteSpace(name), "name", "Is required.");
        errors.AddIf(name is { Length: > 250 }, "name", "Must be at most 250 characters.");
        errors.AddIf(description is { Length: > 2000 }, "description", "Must be at most 2000 characters.");
        Domain.Metadata.Validate(metadata, errors);
        errors.ThrowIfAny();
        return new Product
        {
            Id = id,
            Name = name!.Trim(),
            Description = description,
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, metadata),
            Created = now,
        };
    }

    public Product Archive() => this with { Active = false };

    public Product Unarchive() => this with { Active = true };
}
