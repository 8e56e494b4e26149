using System.Globalization;
using System.Net.Mail;
using Billing.Domain.Invoicing;

namespace Billing.Domain.Customers;

/// <summary>
/// Someone the merchant bills: contact details, where invoices are addressed, the currency and time zone
/// they are billed in, their tax ids and merchant metadata. A deleted customer keeps its financial records
/// but can get no new subscriptions or payments.
/// </summary>
public sealed record Customer
{
    public const string IdPrefix = "cus";

    public required string Id { get; init; }

    public string? Email { get; init; }

    public string? Name { get; init; }

    public Address? BillingAddress { get; init; }

    /// <summary>ISO 4217 code new subscriptions and invoices default to, or null to take the price's currency.</summary>
    public string? PreferredCurrency { get; init; }

    /// <summary>IANA time zone used to show dates on the customer's documents (billing arithmetic stays in UTC).</summary>
    public string TimeZone { get; init; } = "Etc/UTC";

    public IReadOnlyList<TaxId> TaxIds { get; init; } = [];

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    /// <summary>Prefix of the customer's invoice numbers (<c>{PREFIX}-0001</c>), fixed at creation like Stripe's.</summary>
    public required string InvoicePrefix { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>The test clock whose simulated time this customer lives in, or null for real time. Fixed at creation.</summary>
    public string? TestClockId { get; init; }

    public bool Deleted { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>The payment processor's customer (created lazily on the first payment-method or payment call), or null.</summary>
    public string? StripeCustomerId { get; init; }

    /// <summary>The payment method charged when none is named (one-off payments, invoices), or null.</summary>
    public string? DefaultPaymentMethodId { get; init; }

    /// <summary>
    /// A coupon applied to the customer (Stripe's <c>customer.discount</c>): it reduces every invoice of the customer
    /// that has no discount of its own (a subscription's or the invoice's own discount wins), for as long as its
    /// duration allows, counted from <see cref="Discount.Start"/>.
    /// </summary>
    public Discount? Discount { get; init; }

    /// <summary>Creates a customer from validated input; throws <see cref="DomainValidationException"/> listing every bad field.</summary>
    public static Customer Create(CustomerInput input, string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(input);
        Validate(input, creating: true);
        var body = id[(id.IndexOf('_', StringComparison.Ordinal) + 1)..];
        return new Customer
        {
            Id = id,
            Email = Normalize(input.Email),
            Name = Normalize(input.Name),
            BillingAddress = input.BillingAddress?.Normalized(),
            PreferredCurrency = input.PreferredCurrency?.ToUpperInvariant(),
            TimeZone = input.TimeZone ?? "Etc/UTC",
            TaxIds = input.TaxIds ?? [],
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            InvoicePrefix = body[^8..],
            Created = now,
            TestClockId = input.TestClock,
        };
    }

    /// <summary>Applies a partial update: fields left null are unchanged; metadata merges (empty value removes a key).</summary>
    public Customer Apply(CustomerInput changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (Deleted)
        {
            throw new InvalidStateException($"Customer '{Id}' is deleted and cannot be changed.", "customer_deleted");
        }

        Validate(changes, creating: false);
        if (changes.TestClock is not null)
        {
            throw DomainValidationException.For("test_clock", "A customer's test clock can only be set when it is created.");
        }

        var merged = Domain.Metadata.Merge(Metadata, changes.Metadata);
        var errors = new ValidationErrors();
        errors.AddIf(merged.Count > Domain.Metadata.MaxKeys, "metadata", $"At most {Domain.Metadata.MaxKeys} keys are allowed.");
        errors.ThrowIfAny();
        return this with
        {
            Email = changes.Email is null ? Email : Normalize(changes.Email),
            Name = changes.Name is null ? Name : Normalize(changes.Name),
            BillingAddress = changes.BillingAddress?.Normalized() ?? BillingAddress,
            PreferredCurrency = changes.PreferredCurrency?.ToUpperInvariant() ?? PreferredCurrency,
            TimeZone = changes.TimeZone ?? TimeZone,
            TaxIds = changes.TaxIds ?? TaxIds,
            Metadata = merged,
        };
    }

    /// <summary>Attaches a customer-level discount (replacing any previous one).</summary>
    public Customer ApplyDiscount(Discount discount)
    {
        ArgumentNullException.ThrowIfNull(discount);
        EnsureCanBeCharged();
        if (!string.Equals(discount.CustomerId, Id, StringComparison.Ordinal) || discount.SubscriptionId is not null)
        {
            throw DomainValidationException.For("discount", "The discount belongs to another customer or to a subscription.");
        }

        return this with { Discount = discount };
    }

    /// <summary>Removes the customer-level discount; throws <see cref="NotFoundException"/> when there is none.</summary>
    public Customer RemoveDiscount() =>
        Discount is null ? throw new NotFoundException("discount", Id) : this with { Discount = null };

    /// <summary>Replaces the discount with its usage-updated copy after an invoice used (or gave back) it; unchanged otherwise.</summary>
    public Customer WithDiscountUsage(Discount? updated) =>
        updated is not null && Discount is not null && string.Equals(updated.Id, Discount.Id, StringComparison.Ordinal) ? this with { Discount = updated } : this;

    /// <summary>Marks the customer deleted; idempotent. Records stay for the books.</summary>
    public Customer Delete(DateTimeOffset now) => Deleted ? this : this with { Deleted = true, DeletedAt = now };

    /// <summary>Throws unless new subscriptions or payments may be started for this customer.</summary>
    public void EnsureCanBeCharged()
    {
        if (Deleted)
        {
            throw new InvalidStateException($"Customer '{Id}' is deleted: no new subscriptions or payments.", "customer_deleted");
        }
    }

    private static string? Normalize(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static void Validate(CustomerInput input, bool creating)
    {
        var errors = new ValidationErrors();
        if (input.Email is not null)
        {
            errors.AddIf(input.Email.Length > 512 || !IsEmail(input.Email), "email", "Must be a valid email address of at most 512 characters.");
        }

        errors.AddIf(input.Name is { Length: > 256 }, "name", "Must be at most 256 characters.");
        if (input.PreferredCurrency is not null)
        {
            errors.AddIf(!Currency.TryFromCode(input.PreferredCurrency, out _), "preferred_currency", "Must be a supported ISO 4217 currency code.");
        }

        if (input.TimeZone is not null)
        {
            errors.AddIf(input.TimeZone.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(input.TimeZone, out _) || !input.TimeZone.Contains('/', StringComparison.Ordinal) && input.TimeZone != "UTC",
                "time_zone", "Must be an IANA time zone such as 'Europe/Paris'.");
        }

        input.BillingAddress?.Validate(errors, "billing_address");
        if (input.TaxIds is not null)
        {
            errors.AddIf(input.TaxIds.Count > 5, "tax_ids", "At most 5 tax ids are allowed.");
            for (var i = 0; i < input.TaxIds.Count; i++)
            {
                if (input.TaxIds[i] is { } taxId)
                {
                    taxId.Validate(errors, $"tax_ids[{i}]");
                }
                else
                {
                    errors.Add($"tax_ids[{i}]", "Must be a tax id object with type and value.");
                }
            }
        }

        Domain.Metadata.Validate(input.Metadata, errors);
        _ = creating;
        errors.ThrowIfAny();
    }

    private static bool IsEmail(string value)
    {
        if (value.Contains(' ', StringComparison.Ordinal) || value.Count(c => c == '@') != 1)
        {
            return false;
        }

        try
        {
            var parsed = new MailAddress(value);
            return string.Equals(parsed.Address, value, StringComparison.Ordinal) && parsed.Host.Contains('.', StringComparison.Ordinal);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>What a merchant sends to create or update a customer; null means "not given".</summary>
public sealed record CustomerInput
{
    public string? Email { get; init; }

    public string? Name { get; init; }

    public Address? BillingAddress { get; init; }

    public string? PreferredCurrency { get; init; }

    public string? TimeZone { get; init; }

    public IReadOnlyList<TaxId>? TaxIds { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Only at creation: attach the customer to a test clock (<c>clock_…</c>).</summary>
    public string? TestClock { get; init; }
}

/// <summary>A postal address as printed on invoices; <see cref="Country"/> is ISO 3166-1 alpha-2.</summary>
public sealed record Address
{
    public string? Line1 { get; init; }

    public string? Line2 { get; init; }

    public string? City { get; init; }

    public string? State { get; init; }

    public string? PostalCode { get; init; }

    public string? Country { get; init; }

    internal Address Normalized() => this with { Country = Country?.ToUpperInvariant() };

    internal void Validate(ValidationErrors errors, string field)
    {
        foreach (var (name, value) in new[] { ("line1", Line1), ("line2", Line2), ("city", City), ("state", State), ("postal_code", PostalCode) })
        {
            errors.AddIf(value is { Length: > 200 }, $"{field}.{name}", "Must be at most 200 characters.");
        }

        if (Country is not null)
        {
            errors.AddIf(!IsCountry(Country), $"{field}.country", "Must be an ISO 3166-1 alpha-2 country code such as 'FR'.");
        }
    }

    private static bool IsCountry(string code)
    {
        if (code.Length != 2 || !code.All(char.IsAsciiLetter))
        {
            return false;
        }

        try
        {
            return string.Equals(new RegionInfo(code).TwoLetterISORegionName, code, StringComparison.OrdinalIgnoreCase);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

/// <summary>A customer's tax registration (Stripe's tax id types, e.g. <c>eu_vat</c> DE123456789), printed on invoices.</summary>
public sealed record TaxId(string Type, string Value)
{
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        "eu_vat", "gb_vat", "ch_vat", "no_vat", "us_ein", "ca_bn", "ca_gst_hst", "au_abn", "nz_gst", "in_gst", "jp_cn",
        "jp_trn", "kr_brn", "sg_gst", "br_cnpj", "br_cpf", "mx_rfc", "za_vat", "ae_trn", "sa_vat", "il_vat", "tr_tin",
    };

    internal void Validate(ValidationErrors errors, string field)
    {
        errors.AddIf(Type is null || !Types.Contains(Type), $"{field}.type", "Must be a supported tax id type such as 'eu_vat'.");
        errors.AddIf(string.IsNullOrWhiteSpace(Value) || Value.Length > 50, $"{field}.value", "Must be 1 to 50 characters.");
        if (Type == "eu_vat" && Value is { Length: > 0 })
        {
            errors.AddIf(Value.Length < 4 || !char.IsAsciiLetterUpper(Value[0]) || !char.IsAsciiLetterUpper(Value[1]) || !Value[2..].All(char.IsAsciiLetterOrDigit),
                $"{field}.value", "An EU VAT number starts with its two-letter country code, e.g. 'DE123456789'.");
        }
    }
}
