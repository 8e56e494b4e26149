using Billing.Domain.Customers;

namespace Billing.Domain.Tests.Customers;

public class CustomerTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string Id = Ids.New(Customer.IdPrefix, Now);

    [Fact]
    public void A_customer_gets_an_invoice_prefix_from_its_id()
    {
        var customer = Customer.Create(new() { Email = "ada@example.com", Name = "Ada", TimeZone = "Europe/Paris" }, Id, Now);
        Assert.Equal(8, customer.InvoicePrefix.Length);
        Assert.EndsWith(customer.InvoicePrefix, Id, StringComparison.Ordinal);
        Assert.Equal("Europe/Paris", customer.TimeZone);
    }

    [Fact]
    public void Bad_fields_are_all_reported()
    {
        var error = Assert.Throws<DomainValidationException>(() => Customer.Create(new()
        {
            Email = "not-an-email",
            PreferredCurrency = "ABC",
            TimeZone = "Mars/Olympus",
            BillingAddress = new Address { Country = "ZZ" },
            TaxIds = [new TaxId("eu_vat", "123")],
        }, Id, Now));
        Assert.Equal(
            ["billing_address.country", "email", "preferred_currency", "tax_ids[0].value", "time_zone"],
            error.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Metadata_follows_stripe_limits()
    {
        var tooMany = Enumerable.Range(0, 51).ToDictionary(i => $"k{i}", _ => "v");
        Assert.Throws<DomainValidationException>(() => Customer.Create(new() { Metadata = tooMany }, Id, Now));
        Assert.Throws<DomainValidationException>(() => Customer.Create(new() { Metadata = new Dictionary<string, string> { [new string('k', 41)] = "v" } }, Id, Now));
        Assert.Throws<DomainValidationException>(() => Customer.Create(new() { Metadata = new Dictionary<string, string> { ["k"] = new string('v', 501) } }, Id, Now));
    }

    [Fact]
    public void Updating_merges_metadata_and_an_empty_value_removes_a_key()
    {
        var customer = Customer.Create(new() { Metadata = new Dictionary<string, string> { ["plan"] = "gold", ["crm"] = "42" } }, Id, Now);
        var updated = customer.Apply(new() { Name = "Grace", Metadata = new Dictionary<string, string> { ["plan"] = "", ["tier"] = "a" } });
        Assert.Equal("Grace", updated.Name);
        Assert.Equal(new Dictionary<string, string> { ["crm"] = "42", ["tier"] = "a" }, updated.Metadata);
    }

    [Fact]
    public void A_deleted_customer_keeps_its_record_but_cannot_be_charged_or_changed()
    {
        var deleted = Customer.Create(new() { Email = "a@example.com" }, Id, Now).Delete(Now);
        Assert.True(deleted.Deleted);
        Assert.Equal("a@example.com", deleted.Email);
        Assert.Throws<InvalidStateException>(deleted.EnsureCanBeCharged);
        Assert.Throws<InvalidStateException>(() => deleted.Apply(new() { Name = "x" }));
    }
}
