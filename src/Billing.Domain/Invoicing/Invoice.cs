namespace Billing.Domain.Invoicing;

/// <summary>
/// Invoice statuses and Stripe's moves between them: <c>draft → open</c> (finalize: numbered, immutable),
/// <c>open → paid | void | uncollectible</c>, <c>uncollectible → paid | void</c>; <c>paid</c> and <c>void</c> are final.
/// Only drafts can be edited or deleted.
/// </summary>
public enum InvoiceStatus
{
    Draft,
    Open,
    Paid,
    Void,
    Uncollectible,
}

/// <summary>Why an invoice was created (Stripe's <c>billing_reason</c>).</summary>
public enum BillingReason
{
    SubscriptionCreate,
    SubscriptionCycle,
    SubscriptionUpdate,
    Manual,
}

/// <summary>How the invoice is collected.</summary>
public enum CollectionMethod
{
    ChargeAutomatically,
    SendInvoice,
}

/// <summary>What an invoice draft is built from.</summary>
public sealed record InvoiceDraftInput
{
    public required string CustomerId { get; init; }

    public required string Currency { get; init; }

    public string? SubscriptionId { get; init; }

    public BillingReason BillingReason { get; init; } = BillingReason.Manual;

    public CollectionMethod CollectionMethod { get; init; } = CollectionMethod.ChargeAutomatically;

    /// <summary>For <c>send_invoice</c>: days after finalization the invoice is due.</summary>
    public int? DaysUntilDue { get; init; }

    public IReadOnlyList<InvoiceLine> Lines { get; init; } = [];

    /// <summary>Rates for lines without their own.</summary>
    public IReadOnlyList<TaxRate> DefaultTaxRates { get; init; } = [];

    /// <summary>Candidate discounts by precedence (the subscription's, then the customer's); the first that applies is used.</summary>
    public IReadOnlyList<Discount> Discounts { get; init; } = [];

    /// <summary>The customer's balance in this currency now (negative = credit), shown on the draft; re-read at finalization.</summary>
    public long CustomerBalance { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>A new draft and the discount it used, with its redemption recorded (persist it back where it came from).</summary>
public sealed record InvoiceDraftResult(Invoice Invoice, Discount? UsedDiscount);

/// <summary>A finalized invoice and the change to apply to the customer's balance (<c>ending − starting</c>; negative = more credit).</summary>
public sealed record InvoiceFinalizeResult(Invoice Invoice, long CustomerBalanceChange);

/// <summary>
/// A bill for a customer in one currency. Amounts are signed minor units. Per line (see <see cref="InvoiceLine"/>):
/// discounts first (percent: <c>round(amount × p/100)</c>; amount_off: <c>min(amount_off, Σ discountable amounts)</c>
/// spread over the positive discountable lines in proportion to their amounts without losing a unit), then taxes on
/// the discounted amount (see <see cref="TaxRate"/>), each rounded per line. Totals:
/// <c>subtotal = Σ amount</c>; <c>total_discount = Σ line discounts</c>; <c>total = subtotal − total_discount +
/// exclusive tax</c> (inclusive tax is inside the amounts and shown in <see cref="TotalInclusiveTax"/>).
/// Customer balance (Stripe's convention: negative = credit owed to the customer, positive = debt) is applied at
/// finalization: <c>amount_due = max(0, total + starting_balance)</c>, <c>ending_balance = min(0, total + starting_balance)</c>;
/// <c>amount_remaining = amount_due − amount_paid</c>.
/// </summary>
public sealed record Invoice
{
    public const string IdPrefix = "in";

    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    public required string Currency { get; init; }

    public string? SubscriptionId { get; init; }

    public InvoiceStatus Status { get; init; }

    /// <summary>Assigned at finalization only.</summary>
    public string? Number { get; init; }

    public BillingReason BillingReason { get; init; }

    public CollectionMethod CollectionMethod { get; init; }

    public int? DaysUntilDue { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<InvoiceLine> Lines { get; init; } = [];

    public IReadOnlyList<TaxRate> DefaultTaxRates { get; init; } = [];

    /// <summary>The discount used, as it was when applied (kept so draft edits recompute the same way).</summary>
    public Discount? AppliedDiscount { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    public DateTimeOffset PeriodEnd { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? FinalizedAt { get; init; }

    public DateTimeOffset? DueDate { get; init; }

    public DateTimeOffset? PaidAt { get; init; }

    public bool PaidOutOfBand { get; init; }

    public DateTimeOffset? VoidedAt { get; init; }

    public DateTimeOffset? MarkedUncollectibleAt { get; init; }

    public long Subtotal { get; init; }

    public long TotalDiscount { get; init; }

    public long TotalExclusiveTax { get; init; }

    public long TotalInclusiveTax { get; init; }

    /// <summary>All tax on the invoice: exclusive + inclusive.</summary>
    public long TotalTax { get; init; }

    /// <summary>Tax per rate over all lines.</summary>
    public IReadOnlyList<TaxAmount> TaxAmounts { get; init; } = [];

    public long Total { get; init; }

    public long StartingBalance { get; init; }

    /// <summary>Null until finalized.</summary>
    public long? EndingBalance { get; init; }

    public long AmountDue { get; init; }

    public long AmountPaid { get; init; }

    public long AmountRemaining { get; init; }

    /// <summary>Credit notes issued while open (they lowered <see cref="AmountDue"/>).</summary>
    public long PrePaymentCreditNotesAmount { get; init; }

    /// <summary>Credit notes issued after payment (refunds or customer credit).</summary>
    public long PostPaymentCreditNotesAmount { get; init; }

    public long RefundedAmount { get; init; }

    public int CreditNoteCount { get; init; }

    /// <summary>Amount already credited per invoice line id.</summary>
    public IReadOnlyDictionary<string, long> CreditedByLine { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    public int Version { get; init; }

    /// <summary>The retries after a failed collection (null when collection never failed); see <see cref="DunningState"/>.</summary>
    public DunningState? Dunning { get; init; }

    /// <summary>
    /// Builds a draft: applies the first applicable discount, computes every line and the totals. The discount counts as
    /// used (returned with its redemption recorded) only when it took a positive amount off, so a credit-only invoice
    /// does not consume a <c>once</c> coupon.
    /// </summary>
    public static InvoiceDraftResult CreateDraft(InvoiceDraftInput input, string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(input);
        var errors = new ValidationErrors();
        errors.AddIf(!Domain.Currency.TryFromCode(input.Currency, out var currency), "currency", "Must be a supported ISO 4217 currency code.");
        errors.AddIf(input.CollectionMethod == CollectionMethod.SendInvoice && input.DaysUntilDue is null or < 0, "days_until_due", "Is required for send_invoice.");
        errors.AddIf(input.Lines.Count > 250, "lines", "At most 250 lines are allowed.");
        errors.AddIf(input.Description is { Length: > 1500 }, "description", "Must be at most 1500 characters.");
        Domain.Metadata.Validate(input.Metadata, errors);
        errors.ThrowIfAny();
        var discount = input.Discounts.FirstOrDefault(d => d.AppliesTo(currency!.Code, now));
        var draft = new Invoice
        {
            Id = id,
            CustomerId = input.CustomerId,
            Currency = currency!.Code,
            SubscriptionId = input.SubscriptionId,
            Status = InvoiceStatus.Draft,
            BillingReason = input.BillingReason,
            CollectionMethod = input.CollectionMethod,
            DaysUntilDue = input.DaysUntilDue,
            Description = input.Description,
            DefaultTaxRates = input.DefaultTaxRates,
            AppliedDiscount = discount,
            StartingBalance = input.CustomerBalance,
            Created = now,
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            Version = 1,
        }.Recalculate(input.Lines);
        if (discount is null || draft.TotalDiscount <= 0)
        {
            return new InvoiceDraftResult(discount is null ? draft : (draft with { AppliedDiscount = null }).Recalculate(input.Lines), null);
        }

        return new InvoiceDraftResult(draft, discount.RecordApplied(id));
    }

    // ---------------------------------------------------------------- draft edits

    /// <summary>Adds lines to a draft and recomputes.</summary>
    public Invoice AddLines(IReadOnlyList<InvoiceLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        EnsureDraft("edited");
        return Bump(Recalculate([.. Lines, .. lines]));
    }

    /// <summary>Removes a line from a draft and recomputes.</summary>
    public Invoice RemoveLine(string lineId)
    {
        EnsureDraft("edited");
        if (!Lines.Any(l => string.Equals(l.Id, lineId, StringComparison.Ordinal)))
        {
            throw new NotFoundException("invoice_line", lineId);
        }

        return Bump(Recalculate([.. Lines.Where(l => !string.Equals(l.Id, lineId, StringComparison.Ordinal))]));
    }

    /// <summary>Replaces the default tax rates of a draft and recomputes.</summary>
    public Invoice WithDefaultTaxRates(IReadOnlyList<TaxRate> rates)
    {
        EnsureDraft("edited");
        return Bump((this with { DefaultTaxRates = rates }).Recalculate(Lines));
    }

    /// <summary>Throws unless the invoice is a draft (only drafts can be deleted).</summary>
    public void EnsureDeletable() => EnsureDraft("deleted");

    // ---------------------------------------------------------------- lifecycle

    /// <summary>
    /// draft → open with <paramref name="number"/> (from <see cref="NumberSequence.Take"/>): applies the customer balance
    /// (<c>amount_due = max(0, total + balance)</c>, <c>ending_balance = min(0, total + balance)</c>); a zero amount due is
    /// paid at once. Afterwards the invoice is immutable.
    /// </summary>
    public InvoiceFinalizeResult Finalize(string number, long customerBalance, DateTimeOffset now)
    {
        EnsureDraft("finalized");
        if (string.IsNullOrWhiteSpace(number))
        {
            throw DomainValidationException.For("number", "A finalized invoice needs a number.");
        }

        var sum = checked(Total + customerBalance);
        var due = Math.Max(0, sum);
        var ending = Math.Min(0, sum);
        var open = this with
        {
            Status = due == 0 ? InvoiceStatus.Paid : InvoiceStatus.Open,
            Number = number,
            FinalizedAt = now,
            PaidAt = due == 0 ? now : null,
            DueDate = CollectionMethod == CollectionMethod.SendInvoice ? now.AddDays(DaysUntilDue ?? 30) : null,
            StartingBalance = customerBalance,
            EndingBalance = ending,
            AmountDue = due,
            AmountRemaining = due,
            Version = Version + 1,
        };
        return new InvoiceFinalizeResult(open, ending - customerBalance);
    }

    /// <summary>Records a payment of <paramref name="amount"/> (≤ amount remaining) on an open or uncollectible invoice; paid when nothing remains.</summary>
    public Invoice RecordPayment(long amount, DateTimeOffset now, bool outOfBand = false)
    {
        EnsureStatus("paid", InvoiceStatus.Open, InvoiceStatus.Uncollectible);
        if (amount <= 0 || amount > AmountRemaining)
        {
            throw DomainValidationException.For("amount", $"Must be between 1 and the amount remaining ({AmountRemaining}).");
        }

        var remaining = AmountRemaining - amount;
        return this with
        {
            AmountPaid = AmountPaid + amount,
            AmountRemaining = remaining,
            Status = remaining == 0 ? InvoiceStatus.Paid : Status,
            PaidAt = remaining == 0 ? now : PaidAt,
            PaidOutOfBand = outOfBand,
            Version = Version + 1,
        };
    }

    /// <summary>Pays the whole amount remaining.</summary>
    public Invoice Pay(DateTimeOffset now, bool outOfBand = false) =>
        AmountRemaining == 0 && Status is InvoiceStatus.Open or InvoiceStatus.Uncollectible
            ? this with { Status = InvoiceStatus.Paid, PaidAt = now, Version = Version + 1 }
            : RecordPayment(AmountRemaining, now, outOfBand);

    /// <summary>open / uncollectible → void (no payment taken yet).</summary>
    public Invoice Void(DateTimeOffset now)
    {
        EnsureStatus("voided", InvoiceStatus.Open, InvoiceStatus.Uncollectible);
        if (AmountPaid > 0)
        {
            throw new InvalidStateException($"Invoice '{Id}' has payments; issue a credit note instead of voiding.");
        }

        return this with { Status = InvoiceStatus.Void, VoidedAt = now, AmountRemaining = 0, Version = Version + 1 };
    }

    /// <summary>open → uncollectible (bad debt; can still be paid or voided).</summary>
    public Invoice MarkUncollectible(DateTimeOffset now)
    {
        EnsureStatus("marked uncollectible", InvoiceStatus.Open);
        return this with { Status = InvoiceStatus.Uncollectible, MarkedUncollectibleAt = now, Version = Version + 1 };
    }

    internal Invoice Bump(Invoice next) => next with { Version = Version + 1 };

    internal void EnsureStatus(string verb, params InvoiceStatus[] allowed)
    {
        if (!allowed.Contains(Status))
        {
            throw new InvalidStateException($"Invoice '{Id}' is {Subscriptions.Subscription.Wire(Status)} and cannot be {verb}.", "invoice_not_" + string.Join("_or_", allowed.Select(Subscriptions.Subscription.Wire)));
        }
    }

    private void EnsureDraft(string verb) => EnsureStatus(verb, InvoiceStatus.Draft);

    // ---------------------------------------------------------------- calculation

    private Invoice Recalculate(IReadOnlyList<InvoiceLine> lines)
    {
        var discount = AppliedDiscount?.Coupon;
        var discounts = new long[lines.Count];
        if (discount?.PercentOff is { } percent)
        {
            var scaled = decimal.ToInt64(percent * 10_000);
            for (var i = 0; i < lines.Count; i++)
            {
                discounts[i] = lines[i].Discountable ? Money.RoundRatio((Int128)lines[i].Amount * scaled, 100 * 10_000) : 0;
            }
        }
        else if (discount?.AmountOff is { } amountOff)
        {
            var discountable = lines.Where(l => l.Discountable).Sum(l => l.Amount);
            var positive = Enumerable.Range(0, lines.Count).Where(i => lines[i].Discountable && lines[i].Amount > 0).ToList();
            var applied = Math.Min(amountOff, Math.Max(0, discountable));
            if (applied > 0 && positive.Count > 0)
            {
                var shares = new Money(applied, Domain.Currency.FromCode(Currency)).Allocate([.. positive.Select(i => lines[i].Amount)]);
                for (var k = 0; k < positive.Count; k++)
                {
                    discounts[positive[k]] = shares[k].MinorUnits;
                }
            }
        }

        var computed = new List<InvoiceLine>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            computed.Add(ComputeLine(lines[i], discounts[i]));
        }

        var taxes = computed.SelectMany(l => l.TaxAmounts).GroupBy(t => t.TaxRateId, StringComparer.Ordinal)
            .Select(g => g.First() with { Amount = g.Sum(t => t.Amount), TaxableAmount = g.Sum(t => t.TaxableAmount) }).ToList();
        var subtotal = computed.Sum(l => l.Amount);
        var totalDiscount = computed.Sum(l => l.DiscountAmounts.Sum(d => d.Amount));
        var exclusive = taxes.Where(t => !t.Inclusive).Sum(t => t.Amount);
        var inclusive = taxes.Where(t => t.Inclusive).Sum(t => t.Amount);
        var total = subtotal - totalDiscount + exclusive;
        var due = Math.Max(0, total + StartingBalance);
        return this with
        {
            Lines = computed,
            PeriodStart = computed.Count > 0 ? computed.Min(l => l.PeriodStart) : Created,
            PeriodEnd = computed.Count > 0 ? computed.Max(l => l.PeriodEnd) : Created,
            Subtotal = subtotal,
            TotalDiscount = totalDiscount,
            TotalExclusiveTax = exclusive,
            TotalInclusiveTax = inclusive,
            TotalTax = exclusive + inclusive,
            TaxAmounts = taxes,
            Total = total,
            AmountDue = due,
            AmountRemaining = due,
        };
    }

    private InvoiceLine ComputeLine(InvoiceLine line, long discount)
    {
        var net = line.Amount - discount;
        var rates = line.TaxRates ?? DefaultTaxRates;
        var inclusiveSum = rates.Where(r => r.Inclusive).Sum(r => r.Percentage);
        var inclusiveTaxes = rates.Where(r => r.Inclusive).Select(r => (Rate: r, Amount: TaxRate.InclusiveTax(net, r.Percentage, inclusiveSum))).ToList();
        var taxableBase = net - inclusiveTaxes.Sum(t => t.Amount);
        var taxAmounts = new List<TaxAmount>(rates.Count);
        foreach (var rate in rates)
        {
            var amount = rate.Inclusive ? inclusiveTaxes.First(t => ReferenceEquals(t.Rate, rate)).Amount : TaxRate.ExclusiveTax(taxableBase, rate.Percentage);
            taxAmounts.Add(new TaxAmount
            {
                TaxRateId = rate.Id,
                DisplayName = rate.DisplayName,
                Percentage = rate.Percentage,
                Inclusive = rate.Inclusive,
                Jurisdiction = rate.Jurisdiction,
                Amount = amount,
                TaxableAmount = taxableBase,
            });
        }

        return line with
        {
            TaxRates = line.TaxRates,
            DiscountAmounts = discount == 0 || AppliedDiscount is null ? [] : [new DiscountAmount(AppliedDiscount.Id, AppliedDiscount.Coupon.Id, discount)],
            TaxAmounts = taxAmounts,
            NetAmount = net,
            Total = net + taxAmounts.Where(t => !t.Inclusive).Sum(t => t.Amount),
        };
    }
}
