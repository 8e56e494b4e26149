namespace Billing.Domain.Invoicing;

/// <summary>
/// Invoice statuses and Stripe's moves between them: <c>draft → open</c> (finalize: numbered, immutable),
/// <c>open → paid | void | uncollectible</c>, <c>uncollectible → paid | void</c>; <c>paid</c> and <c>void</c> are final.
/// Only drafts can be edited; only drafts that bill no subscription can be deleted.
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

    /// <summary>Text printed after the totals (payment instructions, legal mentions).</summary>
    public string? Footer { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Changes to a draft (Stripe's invoice update); null leaves a field as it is. An empty <see cref="Description"/> or
/// <see cref="Footer"/> removes it; metadata merges (an empty value removes its key); <see cref="DefaultTaxRates"/>
/// replaces the list (empty removes them). <see cref="DaysUntilDue"/> and <see cref="DueDate"/> are for
/// <c>send_invoice</c> only and exclude each other; switching to <c>charge_automatically</c> drops both.
/// </summary>
public sealed record InvoiceDraftChanges
{
    public string? Description { get; init; }

    public string? Footer { get; init; }

    public CollectionMethod? CollectionMethod { get; init; }

    public int? DaysUntilDue { get; init; }

    public DateTimeOffset? DueDate { get; init; }

    public IReadOnlyList<TaxRate>? DefaultTaxRates { get; init; }

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

    /// <summary>Most lines an invoice holds.</summary>
    public const int MaxLines = 250;

    /// <summary>Longest <c>days_until_due</c> accepted.</summary>
    public const int MaxDaysUntilDue = 730;

    public const int MaxDescriptionLength = 1500;

    public const int MaxFooterLength = 5000;

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

    /// <summary>Text printed after the totals of the PDF.</summary>
    public string? Footer { get; init; }

    public IReadOnlyList<InvoiceLine> Lines { get; init; } = [];

    public IReadOnlyList<TaxRate> DefaultTaxRates { get; init; } = [];

    /// <summary>The discount used, as it was when applied (kept so draft edits recompute the same way).</summary>
    public Discount? AppliedDiscount { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    public DateTimeOffset PeriodEnd { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? FinalizedAt { get; init; }

    /// <summary>
    /// When a finalization that takes an account-wide number began (set before the number is reserved, so the draft can
    /// no longer be deleted: a reserved number must end on this invoice). Null otherwise.
    /// </summary>
    public DateTimeOffset? FinalizationStartedAt { get; init; }

    /// <summary>
    /// For <c>send_invoice</c>: on a draft, a due date set explicitly (else <c>finalized_at + days_until_due</c> is
    /// used); from finalization on, the due date.
    /// </summary>
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
        errors.AddIf(input.DaysUntilDue is > MaxDaysUntilDue, "days_until_due", $"Must be at most {MaxDaysUntilDue}.");
        errors.AddIf(input.Lines.Count > MaxLines, "lines", $"At most {MaxLines} lines are allowed.");
        errors.AddIf(input.Description is { Length: > MaxDescriptionLength }, "description", $"Must be at most {MaxDescriptionLength} characters.");
        errors.AddIf(input.Footer is { Length: > MaxFooterLength }, "footer", $"Must be at most {MaxFooterLength} characters.");
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
            Footer = string.IsNullOrWhiteSpace(input.Footer) ? null : input.Footer,
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

    /// <summary>Adds lines to a draft (at most <see cref="MaxLines"/> in all) and recomputes every total.</summary>
    public Invoice AddLines(IReadOnlyList<InvoiceLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        EnsureDraft("edited");
        if (Lines.Count + lines.Count > MaxLines)
        {
            throw DomainValidationException.For("lines", $"An invoice holds at most {MaxLines} lines; this one has {Lines.Count}.");
        }

        return Bump(Recalculate([.. Lines, .. lines]));
    }

    /// <summary>
    /// Removes a one-off line from a draft and recomputes. Subscription and proration lines bill what a subscription
    /// owes and cannot be removed (Stripe's rule for subscription line items).
    /// </summary>
    public Invoice RemoveLine(string lineId)
    {
        EnsureDraft("edited");
        var line = Lines.FirstOrDefault(l => string.Equals(l.Id, lineId, StringComparison.Ordinal)) ?? throw new NotFoundException("invoice_line", lineId);
        if (line.Kind != InvoiceLineKind.OneOff)
        {
            throw new InvalidStateException($"Line '{lineId}' is a {Subscriptions.Subscription.Wire(line.Kind)} line: it bills what a subscription owes and cannot be removed.", "line_not_removable");
        }

        return Bump(Recalculate([.. Lines.Where(l => !ReferenceEquals(l, line))]));
    }

    /// <summary>Replaces the default tax rates of a draft and recomputes.</summary>
    public Invoice WithDefaultTaxRates(IReadOnlyList<TaxRate> rates)
    {
        EnsureDraft("edited");
        return Bump((this with { DefaultTaxRates = rates }).Recalculate(Lines));
    }

    /// <summary>
    /// Puts <paramref name="discount"/> on a draft as its own discount (null: no discount at all, not even the customer's
    /// or subscription's) and recomputes. Giving back a use of the discount it replaces is the caller's job
    /// (<see cref="Discount.ReleaseInvoice"/> on its owner).
    /// </summary>
    public Invoice WithDiscount(Discount? discount)
    {
        EnsureDraft("edited");
        if (discount?.Coupon is { AmountOff: not null, Currency: { } couponCurrency } && !string.Equals(couponCurrency, Currency, StringComparison.OrdinalIgnoreCase))
        {
            throw DomainValidationException.For("coupon", $"Coupon '{discount.Coupon.Id}' takes an amount off in {couponCurrency}; this invoice is in {Currency}.");
        }

        return Bump((this with { AppliedDiscount = discount }).Recalculate(Lines));
    }

    /// <summary>Applies <paramref name="changes"/> to a draft (see <see cref="InvoiceDraftChanges"/>) and recomputes.</summary>
    public Invoice Update(InvoiceDraftChanges changes, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(changes);
        EnsureDraft("edited");
        var errors = new ValidationErrors();
        var method = changes.CollectionMethod ?? CollectionMethod;
        errors.AddIf(changes.Description is { Length: > MaxDescriptionLength }, "description", $"Must be at most {MaxDescriptionLength} characters.");
        errors.AddIf(changes.Footer is { Length: > MaxFooterLength }, "footer", $"Must be at most {MaxFooterLength} characters.");
        errors.AddIf(changes.DaysUntilDue is < 0 or > MaxDaysUntilDue, "days_until_due", $"Must be from 0 to {MaxDaysUntilDue}.");
        errors.AddIf(changes.DueDate is { } due && (due <= now || due > now.AddYears(5)), "due_date", "Must be in the future and at most five years ahead.");
        errors.AddIf(changes.DaysUntilDue is not null && changes.DueDate is not null, "due_date", "Give days_until_due or due_date, not both.");
        errors.AddIf(method == CollectionMethod.ChargeAutomatically && (changes.DaysUntilDue is not null || changes.DueDate is not null),
            changes.DueDate is not null ? "due_date" : "days_until_due", "Only send_invoice invoices have a due date.");
        Domain.Metadata.Validate(changes.Metadata, errors);
        var metadata = Domain.Metadata.Merge(Metadata, changes.Metadata);
        errors.AddIf(metadata.Count > Domain.Metadata.MaxKeys, "metadata", $"At most {Domain.Metadata.MaxKeys} keys are allowed.");
        int? daysUntilDue = method == CollectionMethod.ChargeAutomatically ? null : changes.DaysUntilDue ?? (changes.DueDate is null ? DaysUntilDue : null);
        DateTimeOffset? dueDate = method == CollectionMethod.ChargeAutomatically ? null : changes.DueDate ?? (changes.DaysUntilDue is null ? DueDate : null);
        errors.AddIf(method == CollectionMethod.SendInvoice && daysUntilDue is null && dueDate is null, "days_until_due", "Is required for send_invoice (or give due_date).");
        errors.ThrowIfAny();
        var updated = this with
        {
            Description = changes.Description is null ? Description : NullIfBlank(changes.Description),
            Footer = changes.Footer is null ? Footer : NullIfBlank(changes.Footer),
            CollectionMethod = method,
            DaysUntilDue = daysUntilDue,
            DueDate = dueDate,
            DefaultTaxRates = changes.DefaultTaxRates ?? DefaultTaxRates,
            Metadata = metadata,
        };
        return Bump(changes.DefaultTaxRates is null ? updated : updated.Recalculate(Lines));
    }

    /// <summary>
    /// Throws unless the invoice may be deleted: only a draft (Stripe's rule), not one of a subscription (those are
    /// finalized and voided, so the generator keeps knowing their periods were billed), and not one whose
    /// finalization with an account-wide number has begun.
    /// </summary>
    public void EnsureDeletable()
    {
        EnsureDraft("deleted");
        if (SubscriptionId is { } subscriptionId)
        {
            throw new InvalidStateException($"Invoice '{Id}' bills subscription '{subscriptionId}': finalize and void it instead of deleting it.", "invoice_for_subscription");
        }

        if (FinalizationStartedAt is not null)
        {
            throw new InvalidStateException($"Invoice '{Id}' is being finalized with an account-wide number and can no longer be deleted.", "invoice_number_reserved");
        }
    }

    /// <summary>Marks a draft whose finalization is about to reserve an account-wide number (see <see cref="FinalizationStartedAt"/>).</summary>
    public Invoice MarkFinalizing(DateTimeOffset now)
    {
        EnsureDraft("finalized");
        return FinalizationStartedAt is null ? this with { FinalizationStartedAt = now } : this;
    }

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
            DueDate = CollectionMethod != CollectionMethod.SendInvoice ? null
                : DueDate is { } explicitDue ? (explicitDue > now ? explicitDue : now)
                : now.AddDays(Math.Min(DaysUntilDue ?? 30, MaxDaysUntilDue)),
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

    private static string? NullIfBlank(string text) => string.IsNullOrWhiteSpace(text) ? null : text;

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
