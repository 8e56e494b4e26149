using Billing.Domain.Catalog;
using Billing.Domain.Invoicing;

namespace Billing.Domain.Tests.Invoicing;

/// <summary>What a draft lets a merchant change before it is finalized, and what it refuses.</summary>
public class DraftEditingTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);
    private static readonly TaxRate Vat20 = TaxRate.Create("txr_vat20", "VAT", 20m, inclusive: false, "FR", Now);

    private static InvoiceLine OneOff(string id, long amount, InvoiceLineKind kind = InvoiceLineKind.OneOff) =>
        new() { Id = id, Kind = kind, Description = id, Amount = amount, PeriodStart = Now, PeriodEnd = Now, SubscriptionId = kind == InvoiceLineKind.OneOff ? null : "sub_1" };

    private static Invoice Draft(IReadOnlyList<InvoiceLine>? lines = null, string? subscriptionId = null, CollectionMethod method = CollectionMethod.ChargeAutomatically, int? days = null) =>
        Invoice.CreateDraft(new InvoiceDraftInput
        {
            CustomerId = "cus_1",
            Currency = "USD",
            SubscriptionId = subscriptionId,
            CollectionMethod = method,
            DaysUntilDue = days,
            Lines = lines ?? [OneOff("a", 1999), OneOff("b", 501)],
        }, "in_1", Now).Invoice;

    private static Discount Coupon(string id, decimal? percent, long? amountOff = null, string? currency = null) =>
        Discount.Apply(Domain.Invoicing.Coupon.Create(id, null, percent, amountOff, currency, CouponDuration.Once, null, Now), "cus_1", null, "di_" + id, Now).Discount;

    [Fact]
    public void Editing_a_draft_changes_its_texts_collection_and_tax_rates_and_recomputes_every_total()
    {
        var draft = Draft();

        var edited = draft.Update(new InvoiceDraftChanges
        {
            Description = "May consulting",
            Footer = "IBAN FR76 0000",
            CollectionMethod = CollectionMethod.SendInvoice,
            DaysUntilDue = 14,
            DefaultTaxRates = [Vat20],
            Metadata = new Dictionary<string, string> { ["po"] = "42" },
        }, Now);

        Assert.Equal(("May consulting", "IBAN FR76 0000", CollectionMethod.SendInvoice, (int?)14), (edited.Description, edited.Footer, edited.CollectionMethod, edited.DaysUntilDue));
        Assert.Equal([400L, 100], edited.Lines.Select(l => l.TaxAmounts.Single().Amount)); // 1999 × 20 % = 399.8 → 400; 501 × 20 % = 100.2 → 100
        Assert.Equal((2500L, 500L, 3000L), (edited.Subtotal, edited.TotalTax, edited.Total));
        Assert.Equal(draft.Version + 1, edited.Version);
        Assert.Equal("42", edited.Metadata["po"]);

        var cleared = edited.Update(new InvoiceDraftChanges { Description = "", Footer = "", DefaultTaxRates = [], Metadata = new Dictionary<string, string> { ["po"] = "" } }, Now);
        Assert.Equal((null, null, 2500L, 0), (cleared.Description, cleared.Footer, cleared.Total, cleared.Metadata.Count));
    }

    [Fact]
    public void A_due_date_belongs_to_send_invoice_drafts_only_and_finalization_keeps_an_explicit_one()
    {
        var draft = Draft();
        DateTimeOffset due = Now.AddDays(20);
        Assert.Contains("days_until_due", Assert.Throws<DomainValidationException>(() => draft.Update(new InvoiceDraftChanges { DaysUntilDue = 10 }, Now)).Errors.Keys);
        Assert.Contains("days_until_due", Assert.Throws<DomainValidationException>(() => draft.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.SendInvoice }, Now)).Errors.Keys);
        Assert.Contains("due_date", Assert.Throws<DomainValidationException>(() =>
            draft.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.SendInvoice, DaysUntilDue = 3, DueDate = due }, Now)).Errors.Keys);
        Assert.Contains("due_date", Assert.Throws<DomainValidationException>(() =>
            draft.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.SendInvoice, DueDate = Now.AddMinutes(-1) }, Now)).Errors.Keys);
        Assert.Contains("days_until_due", Assert.Throws<DomainValidationException>(() =>
            draft.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.SendInvoice, DaysUntilDue = Invoice.MaxDaysUntilDue + 1 }, Now)).Errors.Keys);

        var byDate = draft.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.SendInvoice, DueDate = due }, Now);
        Assert.Equal((null, (DateTimeOffset?)due), (byDate.DaysUntilDue, byDate.DueDate));
        Assert.Equal(due, byDate.Finalize("ADA-0001", 0, Now.AddDays(1)).Invoice.DueDate);

        var byDays = byDate.Update(new InvoiceDraftChanges { DaysUntilDue = 7 }, Now); // replaces the explicit date
        Assert.Equal(((int?)7, (DateTimeOffset?)null), (byDays.DaysUntilDue, byDays.DueDate));
        Assert.Equal(Now.AddDays(8), byDays.Finalize("ADA-0001", 0, Now.AddDays(1)).Invoice.DueDate);

        var automatic = byDays.Update(new InvoiceDraftChanges { CollectionMethod = CollectionMethod.ChargeAutomatically }, Now);
        Assert.Equal((null, (DateTimeOffset?)null), (automatic.DaysUntilDue, automatic.DueDate));
        Assert.Null(automatic.Finalize("ADA-0001", 0, Now).Invoice.DueDate);
    }

    [Fact]
    public void A_draft_discount_can_be_set_replaced_or_removed_with_exact_totals()
    {
        var draft = Draft();

        var tenPercent = draft.WithDiscount(Coupon("TEN", 10m));
        Assert.Equal([200L, 50], tenPercent.Lines.Select(l => l.DiscountAmounts.Single().Amount)); // 199.9 → 200; 50.1 → 50
        Assert.Equal((250L, 2250L), (tenPercent.TotalDiscount, tenPercent.Total));

        var sevenDollars = tenPercent.WithDiscount(Coupon("SEVEN", null, 700, "usd"));
        Assert.Equal([560L, 140], sevenDollars.Lines.Select(l => l.DiscountAmounts.Single().Amount)); // 700 split 1999 : 501
        Assert.Equal((700L, 1800L, "SEVEN"), (sevenDollars.TotalDiscount, sevenDollars.Total, sevenDollars.AppliedDiscount!.Coupon.Id));

        var none = sevenDollars.WithDiscount(null);
        Assert.Equal((0L, 2500L, (Discount?)null), (none.TotalDiscount, none.Total, none.AppliedDiscount));
        Assert.All(none.Lines, l => Assert.Empty(l.DiscountAmounts));
        Assert.Contains("coupon", Assert.Throws<DomainValidationException>(() => draft.WithDiscount(Coupon("EURO", null, 100, "eur"))).Errors.Keys);
    }

    [Fact]
    public void Only_one_off_lines_can_be_removed_and_lines_stop_at_250()
    {
        var draft = Draft([OneOff("il_sub", 3000, InvoiceLineKind.Subscription), OneOff("il_pro", -500, InvoiceLineKind.Proration), OneOff("il_one", 250)], subscriptionId: "sub_1");

        Assert.Equal("line_not_removable", Assert.Throws<InvalidStateException>(() => draft.RemoveLine("il_sub")).Code);
        Assert.Equal("line_not_removable", Assert.Throws<InvalidStateException>(() => draft.RemoveLine("il_pro")).Code);
        Assert.Throws<NotFoundException>(() => draft.RemoveLine("il_missing"));
        var removed = draft.RemoveLine("il_one");
        Assert.Equal((2500L, 2), (removed.Total, removed.Lines.Count));

        var full = draft.AddLines([.. Enumerable.Range(0, Invoice.MaxLines - 3).Select(i => OneOff($"x{i}", 1))]);
        Assert.Equal(Invoice.MaxLines, full.Lines.Count);
        Assert.Throws<DomainValidationException>(() => full.AddLines([OneOff("one_too_many", 1)]));
    }

    [Fact]
    public void Subscription_drafts_and_drafts_being_finalized_with_an_account_number_cannot_be_deleted_and_nothing_finalized_can_be_edited()
    {
        Draft().EnsureDeletable();
        Assert.Equal("invoice_for_subscription", Assert.Throws<InvalidStateException>(Draft(subscriptionId: "sub_1").EnsureDeletable).Code);
        var marked = Draft().MarkFinalizing(Now);
        Assert.Equal("invoice_number_reserved", Assert.Throws<InvalidStateException>(marked.EnsureDeletable).Code);
        Assert.Same(marked, marked.MarkFinalizing(Now.AddMinutes(1)));
        var open = marked.Finalize("INV-2026-000001", 0, Now).Invoice;
        Assert.Equal("INV-2026-000001", open.Number);

        Assert.Throws<InvalidStateException>(open.EnsureDeletable);
        Assert.Throws<InvalidStateException>(() => open.Update(new InvoiceDraftChanges { Description = "late" }, Now));
        Assert.Throws<InvalidStateException>(() => open.WithDiscount(null));
        Assert.Throws<InvalidStateException>(() => open.AddLines([OneOff("late", 1)]));
        Assert.Throws<InvalidStateException>(() => open.RemoveLine("a"));
        Assert.Throws<InvalidStateException>(() => open.MarkFinalizing(Now));
    }

    [Fact]
    public void A_proration_line_becomes_the_very_pending_item_it_was_made_from()
    {
        var at = new DateTimeOffset(2026, 5, 12, 8, 30, 15, 123, TimeSpan.Zero).AddTicks(4567);
        var item = new PendingInvoiceItem
        {
            Id = Ids.New(PendingInvoiceItem.IdPrefix, at),
            CustomerId = "cus_1",
            Currency = "USD",
            SubscriptionId = "sub_1",
            SubscriptionItemId = "si_1",
            Kind = InvoiceLineKind.Proration,
            Description = "Remaining time on Pro after 12 May 2026",
            PeriodStart = at,
            PeriodEnd = at.AddDays(19),
            Quantity = 3,
            UnitAmount = 1000,
            Amount = 1839,
            PriceId = "price_1",
            ProductId = "prod_1",
            TaxRates = [Vat20],
            Created = at,
        };
        var line = Draft([item.ToLine()]).Lines.Single();

        Assert.Equal(item, PendingInvoiceItem.FromProrationLine(line, "cus_1", "USD"));
        Assert.Throws<ArgumentException>(() => PendingInvoiceItem.FromProrationLine(OneOff("il_x", 5), "cus_1", "USD"));
    }

    [Fact]
    public void A_one_off_amount_is_bounded_instead_of_overflowing()
    {
        var error = Assert.Throws<DomainValidationException>(() =>
            PendingInvoiceItem.OneOff("ii_1", "cus_1", "USD", "Big", Price.MaxAmount, long.MaxValue / 2, Now));
        Assert.Contains("quantity", error.Errors.Keys);
        Assert.Equal(Price.MaxAmount, PendingInvoiceItem.OneOff("ii_2", "cus_1", "USD", "Max", Price.MaxAmount, 1, Now).Amount);
    }
}
