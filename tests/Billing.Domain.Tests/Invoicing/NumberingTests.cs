using Billing.Domain.Customers;
using Billing.Domain.Invoicing;

namespace Billing.Domain.Tests.Invoicing;

public class NumberingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 31, 23, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Per_customer_numbers_use_the_customer_prefix_and_four_or_more_digits()
    {
        var customer = Customer.Create(new CustomerInput { Name = "Ada" }, Ids.New(Customer.IdPrefix, Now), Now);
        var sequence = NumberSequence.ForCustomer(customer);
        Assert.Equal("customer:" + customer.Id, sequence.Key);
        var (first, s1) = sequence.Take(Now);
        var (second, s2) = s1.Take(Now);
        Assert.Equal($"{customer.InvoicePrefix}-0001", first);
        Assert.Equal($"{customer.InvoicePrefix}-0002", second);
        Assert.Equal(3, s2.Next);
        Assert.Equal(1, sequence.Next); // Take does not change the value it was called on
        Assert.Equal($"{customer.InvoicePrefix}-10000", (s2 with { Next = 10_000 }).Take(Now).Number);
    }

    [Fact]
    public void Account_wide_numbers_are_gapless_per_year_and_restart_in_a_new_year()
    {
        var sequence = NumberSequence.AccountWide();
        var numbers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (number, next) = sequence.Take(Now);
            numbers.Add(number);
            sequence = next;
        }

        Assert.Equal(["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"], numbers);
        var (newYear, after) = sequence.Take(Now.AddHours(2));
        Assert.Equal("INV-2027-000001", newYear);
        Assert.Equal((2L, 2027), (after.Next, after.Year!.Value));
    }
}
