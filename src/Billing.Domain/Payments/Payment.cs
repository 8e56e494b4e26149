namespace Billing.Domain.Payments;

/// <summary>
/// Where a payment stands; mirrors Stripe's PaymentIntent statuses, plus <see cref="Pending"/>: recorded by us, outcome
/// at the processor not known yet (the request is in flight, or was interrupted and will be resumed).
/// </summary>
public enum PaymentStatus
{
    Pending,
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

/// <summary>Why money is given back; Stripe's refund reasons.</summary>
public enum RefundReason
{
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

/// <summary>How one refund weighs on its payment's refundable remainder.</summary>
public enum RefundShareState
{
    /// <summary>Held before asking the processor, so concurrent refunds can never exceed the payment together.</summary>
    Reserved,

    /// <summary>Accepted by the processor, money on its way back.</summary>
    Pending,

    /// <summary>Money returned.</summary>
    Succeeded,

    /// <summary>Refused or failed: no longer counts.</summary>
    Failed,
}

/// <summary>The part of a payment one refund takes (or took, or holds while in flight).</summary>
public sealed record RefundShare(long Amount, RefundShareState State);

/// <summary>
/// A one-off charge of a customer's card through the processor: what was asked (amount, currency, payment method,
/// description, metadata), where it stands (mirroring the processor), the card that paid (brand, last 4 only), why it
/// failed if it did, and how much of it was refunded. The record is written <see cref="PaymentStatus.Pending"/> before
/// the processor is called, so an interrupted request resumes with the same processor idempotency key.
/// </summary>
public sealed record Payment
{
    public const string IdPrefix = "pay";

    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    public required Money Amount { get; init; }

    public PaymentStatus Status { get; init; } = PaymentStatus.Pending;

    /// <summary>Minor units actually captured.</summary>
    public long AmountReceived { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = Domain.Metadata.Empty;

    /// <summary>The payment method asked for (or the customer's default at the time).</summary>
    public string? PaymentMethodId { get; init; }

    public bool OffSession { get; init; }

    /// <summary>Fingerprint of the creating request, so the same idempotency key with another request is refused.</summary>
    public string? RequestHash { get; init; }

    public string? GatewayPaymentId { get; init; }

    /// <summary>Set on payments adopted from an invoice's collection (see <see cref="Adopt"/>): the invoice it paid.</summary>
    public string? InvoiceId { get; init; }

    public string? GatewayChargeId { get; init; }

    public string? CardBrand { get; init; }

    public string? CardLast4 { get; init; }

    public PaymentFailure? Failure { get; init; }

    /// <summary>Only while <see cref="PaymentStatus.RequiresAction"/>: the secret the browser needs to authenticate.</summary>
    public string? ClientSecret { get; init; }

    public string? NextActionType { get; init; }

    public string? NextActionUrl { get; init; }

    /// <summary>Refunds against this payment by our refund id (or the processor's id for refunds made elsewhere).</summary>
    public IReadOnlyDictionary<string, RefundShare> Refunds { get; init; } = new Dictionary<string, RefundShare>(StringComparer.Ordinal);

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset Updated { get; init; }

    /// <summary>Minor units refunded or on their way back.</summary>
    public long AmountRefunded => Refunds.Values.Where(r => r.State is RefundShareState.Pending or RefundShareState.Succeeded).Sum(r => r.Amount);

    /// <summary>Minor units held by refunds in flight.</summary>
    public long AmountReserved => Refunds.Values.Where(r => r.State == RefundShareState.Reserved).Sum(r => r.Amount);

    /// <summary>What may still be refunded: received minus refunded minus held.</summary>
    public long Refundable => Math.Max(0, AmountReceived - AmountRefunded - AmountReserved);

    public bool IsFinal => Status is PaymentStatus.Succeeded or PaymentStatus.Canceled;

    /// <summary>The request key under which the adopted record of processor payment <paramref name="gatewayPaymentId"/> is stored (one per processor payment).</summary>
    public static string AdoptionKey(string gatewayPaymentId) => "adopt:" + gatewayPaymentId;

    /// <summary>
    /// Our record of a processor payment made outside the payments API — an invoice's collection charge — so it can be
    /// refunded through the same reservations as any payment (a refund credit note and a refund through the refunds API
    /// can never together exceed it). Its existing processor refunds (e.g. made in the Stripe dashboard) count from the
    /// start, by the processor's refund id or our refund id in their metadata.
    /// </summary>
    public static Payment Adopt(string id, string customerId, GatewayPayment reported, IEnumerable<GatewayRefund> refunds, string? invoiceId, string? description, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reported);
        ArgumentNullException.ThrowIfNull(refunds);
        var adopted = new Payment
        {
            Id = id,
            CustomerId = customerId,
            Amount = reported.Amount,
            InvoiceId = invoiceId,
            Description = description,
            OffSession = true,
            RequestHash = AdoptionKey(reported.Id),
            Created = reported.Created == default ? now : reported.Created,
            Updated = now,
        }.Apply(reported, now);
        return refunds.Aggregate(adopted, (p, r) => p.ApplyRefund(r.Metadata.GetValueOrDefault(GatewayMetadata.RefundId) ?? r.Id, r.Amount.MinorUnits, r.Status, now));
    }

    /// <summary>Validates a request and makes the pending record; throws <see cref="DomainValidationException"/> listing every bad field.</summary>
    public static Payment Create(PaymentInput input, string id, string? defaultPaymentMethodId, string requestHash, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(input);
        var amount = input.Validate();
        var paymentMethod = input.PaymentMethod ?? defaultPaymentMethodId;
        if (paymentMethod is null)
        {
            throw new InvalidStateException("The customer has no default payment method: send payment_method or save a card first.", "payment_method_required");
        }

        return new Payment
        {
            Id = id,
            CustomerId = input.Customer!,
            Amount = amount,
            Description = string.IsNullOrWhiteSpace(input.Description) ? null : input.Description.Trim(),
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            PaymentMethodId = paymentMethod,
            OffSession = input.OffSession ?? false,
            RequestHash = requestHash,
            Created = now,
            Updated = now,
        };
    }

    /// <summary>
    /// Mirrors what the processor reports. Converges whatever the order of reports: a succeeded or canceled payment
    /// never moves again, so an older report arriving late cannot undo a newer state.
    /// </summary>
    public Payment Apply(GatewayPayment reported, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reported);
        if (IsFinal && reported.Status != Status)
        {
            return GatewayPaymentId is null ? this with { GatewayPaymentId = reported.Id, Updated = now } : this;
        }

        var requiresAction = reported.Status == PaymentStatus.RequiresAction;
        var updated = this with
        {
            Status = reported.Status,
            AmountReceived = Math.Max(AmountReceived, reported.AmountReceived),
            GatewayPaymentId = reported.Id,
            GatewayChargeId = reported.ChargeId ?? GatewayChargeId,
            PaymentMethodId = reported.PaymentMethodId ?? PaymentMethodId,
            CardBrand = reported.CardBrand ?? CardBrand,
            CardLast4 = reported.CardLast4 ?? CardLast4,
            Failure = reported.Status == PaymentStatus.Succeeded ? null : reported.Failure ?? (requiresAction ? null : Failure),
            ClientSecret = requiresAction ? reported.ClientSecret : null,
            NextActionType = requiresAction ? reported.NextActionType : null,
            NextActionUrl = requiresAction ? reported.NextActionUrl : null,
        };
        return updated with { Updated = Updated } == this ? this : updated with { Updated = now };
    }

    /// <summary>
    /// Holds <paramref name="amount"/> for refund <paramref name="refundId"/>; throws <see cref="InvalidStateException"/>
    /// (409) unless the payment succeeded and that much is still refundable. Idempotent per refund id.
    /// </summary>
    public Payment ReserveRefund(string refundId, long amount, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(refundId);
        if (Refunds.ContainsKey(refundId))
        {
            return this;
        }

        if (Status != PaymentStatus.Succeeded)
        {
            throw new InvalidStateException($"Payment '{Id}' has status {Status.ToString()} and cannot be refunded.", "payment_not_refundable");
        }

        if (amount <= 0 || amount > Refundable)
        {
            throw new InvalidStateException(
                $"Refund of {amount} exceeds what remains refundable on payment '{Id}' ({Refundable} of {AmountReceived}).", "refund_exceeds_remaining");
        }

        return WithShare(refundId, new RefundShare(amount, RefundShareState.Reserved), now);
    }

    /// <summary>Records what the processor says about a refund. Never moves a share back from succeeded or failed to pending.</summary>
    public Payment ApplyRefund(string key, long amount, RefundStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(key);
        var state = status switch
        {
            RefundStatus.Succeeded => RefundShareState.Succeeded,
            RefundStatus.Failed or RefundStatus.Canceled => RefundShareState.Failed,
            _ => RefundShareState.Pending,
        };
        if (Refunds.TryGetValue(key, out var current))
        {
            var allowed = current.State switch
            {
                RefundShareState.Reserved => true,
                RefundShareState.Pending => state != RefundShareState.Pending || current.Amount != amount,
                RefundShareState.Succeeded => state == RefundShareState.Failed,
                _ => false,
            };
            if (!allowed)
            {
                return this;
            }
        }

        return WithShare(key, new RefundShare(amount, state), now);
    }

    /// <summary>Gives back a reservation after the processor refused the refund for good.</summary>
    public Payment ReleaseRefund(string refundId, DateTimeOffset now) =>
        Refunds.TryGetValue(refundId, out var share) && share.State == RefundShareState.Reserved
            ? WithShare(refundId, share with { State = RefundShareState.Failed }, now)
            : this;

    private Payment WithShare(string key, RefundShare share, DateTimeOffset now)
    {
        var refunds = new Dictionary<string, RefundShare>(Refunds, StringComparer.Ordinal) { [key] = share };
        return this with { Refunds = refunds, Updated = now };
    }
}

/// <summary>What a merchant (or a customer's browser) sends to charge a customer once; null means "not given".</summary>
public sealed record PaymentInput
{
    public string? Customer { get; init; }

    /// <summary>Amount in the currency's ISO minor units.</summary>
    public long? Amount { get; init; }

    public string? Currency { get; init; }

    /// <summary>A saved payment method id (or a Stripe test token such as <c>pm_card_visa</c>); null charges the default.</summary>
    public string? PaymentMethod { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>True when the customer is not present (merchant-initiated); 3-D Secure then fails as a decline.</summary>
    public bool? OffSession { get; init; }

    /// <summary>
    /// Checks the request against the processor's rules: a supported currency, a positive amount between its minimum
    /// and maximum charge, a multiple of 10 in three-decimal currencies. Returns the amount as money.
    /// </summary>
    public Money Validate()
    {
        var errors = new ValidationErrors();
        errors.AddIf(string.IsNullOrWhiteSpace(Customer), "customer", "Required.");
        Domain.Currency? currency = null;
        if (string.IsNullOrWhiteSpace(Currency))
        {
            errors.Add("currency", "Required.");
        }
        else if (!Domain.Currency.TryFromCode(Currency, out currency))
        {
            errors.Add("currency", "Must be a supported ISO 4217 currency code.");
        }

        if (Amount is not { } amount)
        {
            errors.Add("amount", "Required.");
        }
        else if (amount <= 0)
        {
            errors.Add("amount", "Must be a positive whole number of the currency's minor units.");
        }
        else if (currency is not null)
        {
            ValidateChargeAmount(amount, currency, errors, "amount");
        }

        errors.AddIf(PaymentMethod is { Length: 0 or > 255 }, "payment_method", "Must be 1 to 255 characters.");
        errors.AddIf(Description is { Length: > 1000 }, "description", "Must be at most 1000 characters.");
        Domain.Metadata.Validate(Metadata, errors);
        if (Metadata is not null && Metadata.Keys.Any(k => k.StartsWith("billing_", StringComparison.Ordinal)))
        {
            errors.Add("metadata", "Keys starting with 'billing_' are reserved.");
        }

        errors.ThrowIfAny();
        return new Money(Amount!.Value, currency!);
    }

    /// <summary>Adds errors when <paramref name="amount"/> (ISO minor units) is outside what the processor can charge in <paramref name="currency"/>.</summary>
    public static void ValidateChargeAmount(long amount, Domain.Currency currency, ValidationErrors errors, string field)
    {
        ArgumentNullException.ThrowIfNull(currency);
        ArgumentNullException.ThrowIfNull(errors);
        if (amount < currency.StripeMinimumChargeMinor)
        {
            errors.Add(field, $"Must be at least {currency.StripeMinimumChargeMinor} (the smallest charge in {currency.Code}).");
        }
        else if (amount > currency.StripeMaximumChargeMinor)
        {
            errors.Add(field, $"Must be at most {currency.StripeMaximumChargeMinor} (the largest charge in {currency.Code}).");
        }
        else if (currency.StripeRequiresMultipleOfTen && currency.ToStripeAmount(amount) % 10 != 0)
        {
            errors.Add(field, $"Must be a multiple of 10 in {currency.Code} (card networks do not settle the last decimal).");
        }
    }
}
