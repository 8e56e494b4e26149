using Billing.Domain.Catalog;
using Billing.Domain.Customers;
using Billing.Domain.Invoicing;
using Billing.Domain.Subscriptions;
using Microsoft.Extensions.Time.Testing;

namespace Billing.Domain.Tests.Subscriptions;

/// <summary>
/// An in-memory stand-in for storage and the scheduler: it keeps invoices, pending items, the customer balance and the
/// number sequence, and drives a subscription through time with a fake clock exactly as the API would.
/// </summary>
internal sealed class BillingWorld
{
    public BillingWorld(DateTimeOffset start, string currency = "USD")
    {
        Clock = new FakeTimeProvider(start);
        Customer = Customer.Create(new CustomerInput { Email = "ada@example.com", Name = "Ada" }, Ids.New(Customer.IdPrefix, start), start) with { InvoicePrefix = "ADA" };
        Balance = new CustomerBalance { CustomerId = Customer.Id, Currency = currency };
        Sequence = NumberSequence.ForCustomer(Customer);
    }

    public FakeTimeProvider Clock { get; }

    public DateTimeOffset Now => Clock.GetUtcNow();

    public Customer Customer { get; private set; }

    public Subscription Sub { get; set; } = null!;

    public List<Invoice> Invoices { get; } = [];

    public List<PendingInvoiceItem> Pending { get; } = [];

    public CustomerBalance Balance { get; set; }

    public NumberSequence Sequence { get; set; }

    /// <summary>The customer's own discount (<see cref="Customer.Discount"/>), applied and used through the customer record as the app does.</summary>
    public Discount? CustomerDiscount
    {
        get => Customer.Discount;
        set => Customer = value is null ? Customer.RemoveDiscount() : Customer.ApplyDiscount(value);
    }

    public bool PayInvoices { get; set; } = true;

    public static PriceSnapshot Price(string id, long unitAmount, string currency = "USD", IntervalUnit unit = IntervalUnit.Month, int count = 1,
        int? trialDays = null, BillingScheme scheme = BillingScheme.PerUnit, string? product = null) => new()
        {
            Id = id,
            ProductId = "prod_" + id,
            ProductName = product ?? id,
            Currency = currency,
            Scheme = scheme,
            UnitAmount = unitAmount,
            Recurring = new Recurrence(unit, count),
            TrialPeriodDays = trialDays,
        };

    public Subscription Subscribe(PriceSnapshot price, long quantity = 1, Func<SubscriptionCreateInput, SubscriptionCreateInput>? configure = null, bool bill = true)
    {
        var input = new SubscriptionCreateInput { CustomerId = Customer.Id, Items = [new SubscriptionItemInput(price, quantity)] };
        Sub = Subscription.Create(configure?.Invoke(input) ?? input, Customer, Ids.New(Subscription.IdPrefix, Now), Now, "user:ada");
        if (bill)
        {
            Bill(BillingReason.SubscriptionCreate);
        }

        return Sub;
    }

    /// <summary>Invoices whatever the generator says is due now; returns the invoice or null when nothing is due.</summary>
    public Invoice? Bill(BillingReason reason = BillingReason.SubscriptionCycle)
    {
        var lines = InvoiceGenerator.DueLines(Sub, InvoicedItem.From(Invoices), Pending, Now);
        return lines.Count == 0 ? null : Issue(lines, reason, Sub.Id, Sub.DefaultTaxRates);
    }

    /// <summary>Invoices only the pending items (always_invoice, cancel with invoice_now, standalone invoices).</summary>
    public Invoice? BillPendingNow(BillingReason reason = BillingReason.SubscriptionUpdate)
    {
        var lines = InvoiceGenerator.PendingLines(Pending, InvoicedItem.From(Invoices));
        return lines.Count == 0 ? null : Issue(lines, reason, Sub?.Id, Sub?.DefaultTaxRates ?? []);
    }

    public Invoice Issue(IReadOnlyList<InvoiceLine> lines, BillingReason reason, string? subscriptionId, IReadOnlyList<TaxRate> taxRates,
        PauseCollectionBehavior? paused = null)
    {
        var discounts = new[] { subscriptionId is null ? null : Sub?.Discount, Customer.Discount }.OfType<Discount>().ToList();
        var (draft, used) = Invoice.CreateDraft(new InvoiceDraftInput
        {
            CustomerId = Customer.Id,
            Currency = Balance.Currency,
            SubscriptionId = subscriptionId,
            BillingReason = reason,
            Lines = lines,
            DefaultTaxRates = taxRates,
            Discounts = discounts,
            CustomerBalance = Balance.Balance,
        }, Ids.New(Invoice.IdPrefix, Now), Now);
        if (used is not null)
        {
            if (Sub?.Discount?.Id == used.Id)
            {
                Sub = Sub.WithDiscountUsage(used);
            }
            else
            {
                Customer = Customer.WithDiscountUsage(used);
            }
        }

        if (paused == PauseCollectionBehavior.KeepAsDraft)
        {
            Invoices.Add(draft);
            return draft;
        }

        var (number, next) = Sequence.Take(Now);
        Sequence = next;
        var (invoice, change) = draft.Finalize(number, Balance.Balance, Now);
        if (change != 0)
        {
            Balance = Balance.Apply(change, BalanceTransactionType.AppliedToInvoice, invoice.Id, Ids.New("cbtxn", Now), Now).Balance;
        }

        if (paused == PauseCollectionBehavior.MarkUncollectible)
        {
            invoice = invoice.MarkUncollectible(Now);
        }
        else if (paused == PauseCollectionBehavior.Void)
        {
            invoice = invoice.Void(Now);
        }
        else if (PayInvoices && invoice.Status == InvoiceStatus.Open)
        {
            invoice = invoice.Pay(Now);
        }

        if (Sub is not null && invoice.Status == InvoiceStatus.Paid && Sub.Status is SubscriptionStatus.Incomplete or SubscriptionStatus.PastDue)
        {
            Sub = Sub.MarkPaymentSucceeded(Now);
        }

        Invoices.Add(invoice);
        return invoice;
    }

    public void Apply(SubscriptionUpdateResult result)
    {
        Sub = result.Subscription;
        Pending.AddRange(result.ProrationItems);
        if (result.InvoiceNow)
        {
            BillPendingNow();
        }
    }

    /// <summary>Runs every scheduled action due up to <paramref name="until"/>, in order, then sets the clock there.</summary>
    public void RunUntil(DateTimeOffset until)
    {
        while (Sub.NextAction() is { } action && action.At <= until)
        {
            Clock.SetUtcNow(action.At);
            var version = Sub.Version;
            switch (action.Kind)
            {
                case ScheduledActionKind.TrialWillEnd:
                    Sub = Sub.MarkTrialWillEndNotified(Now);
                    break;
                case ScheduledActionKind.IncompleteExpiry:
                    Sub = Sub.ExpireIncomplete(Now);
                    break;
                default:
                    var result = Renewal.Advance(Sub, InvoicedItem.From(Invoices), Pending, Now);
                    Sub = result.Subscription;
                    if (result.Lines.Count > 0)
                    {
                        Issue(result.Lines, result.BillingReason, Sub.Id, Sub.DefaultTaxRates, result.CollectionPaused);
                    }

                    break;
            }

            if (Sub.Version == version)
            {
                throw new InvalidOperationException($"Scheduled action {action.Kind} at {action.At:O} changed nothing.");
            }
        }

        Clock.SetUtcNow(until);
    }
}
