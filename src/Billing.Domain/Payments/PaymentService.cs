using Billing.Domain.Customers;
using Billing.Domain.Scheduling;

namespace Billing.Domain.Payments;

/// <summary>What a merchant sends to refund a payment; a null amount refunds whatever remains.</summary>
public sealed record RefundInput
{
    /// <summary>Minor units of the payment's currency; null = the whole refundable remainder.</summary>
    public long? Amount { get; init; }

    public RefundReason? Reason { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// The payment use cases: charge once, refund within what remains, link customers to the processor, and converge our
/// records on the processor's truth. Every step writes its intent before calling the processor and its outcome after,
/// and every processor call carries a key derived from our ids, so a step interrupted anywhere resumes on retry
/// without charging or refunding twice.
/// </summary>
public sealed class PaymentService(IPaymentGateway gateway, IPaymentStore payments, ICustomerStore customers, IScheduleStore schedule, TimeProvider clock)
{
    /// <summary>Work kind of the check that re-reads a payment from the processor when it is still unsettled after <see cref="ReconcileAfter"/>.</summary>
    public const string ReconcilePaymentWork = "payment_reconcile";

    /// <summary>Work kind of the same check for a refund.</summary>
    public const string ReconcileRefundWork = "refund_reconcile";

    /// <summary>How long a payment or refund may stay unsettled before we ask the processor ourselves.</summary>
    public static readonly TimeSpan ReconcileAfter = TimeSpan.FromHours(1);

    /// <summary>The processor customer of <paramref name="customer"/>, created (idempotently) and linked on first use.</summary>
    public async Task<string> EnsureGatewayCustomerAsync(Customer customer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customer);
        if (customer.StripeCustomerId is { } existing)
        {
            return existing;
        }

        var created = await gateway.CreateCustomerAsync(customer.Id, customer.Email, customer.Name, cancellationToken);
        var linked = await customers.UpdateAsync(customer.Id, c => c.StripeCustomerId is null ? c with { StripeCustomerId = created } : c, cancellationToken);
        return linked.StripeCustomerId!;
    }

    /// <summary>
    /// Charges a customer once per <paramref name="requestKey"/> (the client's idempotency key, scoped to the caller).
    /// Returns the payment (succeeded, processing, or requiring authentication); a decline is saved and then thrown as
    /// <see cref="PaymentDeclinedException"/>; an outage leaves the payment pending, to be resumed by the same request.
    /// </summary>
    public async Task<Payment> ChargeAsync(PaymentInput input, string requestKey, string requestHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.Validate();
        var customer = await customers.GetAsync(input.Customer!, cancellationToken) ?? throw new NotFoundException("customer", input.Customer!);
        customer.EnsureCanBeCharged();
        var now = clock.GetUtcNow();
        var (payment, created) = await payments.CreateAsync(Payment.Create(input, Ids.New(Payment.IdPrefix, now), customer.DefaultPaymentMethodId, requestHash, now), requestKey, cancellationToken);
        if (created)
        {
            // A lost webhook or a crash after this point can never leave the payment in limbo: an hour from now we look.
            await schedule.ScheduleAsync(new DueWork { Kind = ReconcilePaymentWork, CustomerId = customer.Id, TargetId = payment.Id, DueAt = now + ReconcileAfter, ClockId = customer.TestClockId }, cancellationToken);
        }

        if (!created && !string.Equals(payment.RequestHash, requestHash, StringComparison.Ordinal))
        {
            throw new InvalidStateException("This Idempotency-Key was used for a different payment request.", "idempotency_key_reused");
        }

        if (payment.Status == PaymentStatus.Pending)
        {
            payment = await SubmitAsync(payment, customer, cancellationToken);
        }

        if (payment is { Status: PaymentStatus.RequiresPaymentMethod, Failure: { } failure })
        {
            throw new PaymentDeclinedException(failure, payment.Id);
        }

        if (payment is { Status: PaymentStatus.Canceled, GatewayPaymentId: null, Failure: { } rejection })
        {
            // Refused by the processor before any charge existed; a resumed request gets the same refusal.
            throw new PaymentGatewayRejectedException(rejection.Code, rejection.Message);
        }

        return payment;
    }

    private async Task<Payment> SubmitAsync(Payment payment, Customer customer, CancellationToken cancellationToken)
    {
        var gatewayCustomer = await EnsureGatewayCustomerAsync(customer, cancellationToken);
        var metadata = new Dictionary<string, string>(payment.Metadata, StringComparer.Ordinal)
        {
            [GatewayMetadata.PaymentId] = payment.Id,
            [GatewayMetadata.CustomerId] = payment.CustomerId,
        };
        GatewayPayment reported;
        try
        {
            reported = await gateway.ChargeAsync(new ChargeRequest
            {
                Amount = payment.Amount,
                GatewayCustomerId = gatewayCustomer,
                PaymentMethodId = payment.PaymentMethodId,
                OffSession = payment.OffSession,
                Description = payment.Description,
                Metadata = metadata,
                IdempotencyKey = IdempotencyKeys.PaymentCreate(payment.Id),
            }, cancellationToken);
        }
        catch (PaymentDeclinedException declined)
        {
            await payments.UpdateAsync(payment, p => p.Status == PaymentStatus.Pending ? p with { Status = PaymentStatus.RequiresPaymentMethod, Failure = declined.Failure, Updated = clock.GetUtcNow() } : p, cancellationToken);
            throw new PaymentDeclinedException(declined.Failure, payment.Id);
        }
        catch (PaymentGatewayRejectedException rejected)
        {
            // Refused before any PaymentIntent existed (unknown payment method, …): this request will never charge.
            await payments.UpdateAsync(payment, p => p.Status == PaymentStatus.Pending
                ? p with { Status = PaymentStatus.Canceled, Failure = new PaymentFailure(rejected.Code, null, null, rejected.Message, DeclineClass.NeedsCustomer), Updated = clock.GetUtcNow() }
                : p, cancellationToken);
            throw;
        }

        return await payments.UpdateAsync(payment, p => p.Apply(reported, clock.GetUtcNow()), cancellationToken);
    }

    /// <summary>
    /// Refunds <see cref="RefundInput.Amount"/> (or the remainder) of a succeeded payment once per
    /// <paramref name="requestKey"/>. The amount is reserved on the payment (ETag-guarded, atomically with the refund
    /// record) before the processor is called, and released only when the processor refuses for good.
    /// </summary>
    public async Task<(Refund Refund, Payment Payment)> RefundAsync(Payment payment, RefundInput input, string requestKey, string requestHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payment);
        ArgumentNullException.ThrowIfNull(input);
        var errors = new ValidationErrors();
        errors.AddIf(input.Amount is <= 0, "amount", "Must be a positive whole number of the payment currency's minor units.");
        Domain.Metadata.Validate(input.Metadata, errors);
        errors.ThrowIfAny();
        if (payment.Status != PaymentStatus.Succeeded && payment.GatewayPaymentId is { } gatewayPaymentId)
        {
            // Our record may lag Stripe (events not processed yet): look before refusing.
            payment = await ReconcileAsync(gatewayPaymentId, cancellationToken) ?? payment;
        }

        var amount = input.Amount ?? payment.Refundable;
        if (amount <= 0)
        {
            throw new InvalidStateException($"Nothing remains to refund on payment '{payment.Id}'.", payment.Status == PaymentStatus.Succeeded ? "refund_exceeds_remaining" : "payment_not_refundable");
        }

        var now = clock.GetUtcNow();
        var fresh = new Refund
        {
            Id = Ids.New(Refund.IdPrefix, now),
            PaymentId = payment.Id,
            CustomerId = payment.CustomerId,
            Amount = new Money(amount, payment.Amount.Currency),
            Reason = input.Reason,
            Metadata = Domain.Metadata.Merge(Domain.Metadata.Empty, input.Metadata),
            RequestHash = requestHash,
            Created = now,
            Updated = now,
        };
        var (refund, created) = await payments.CreateRefundAsync(fresh, requestKey, p => p.ReserveRefund(fresh.Id, amount, now), cancellationToken);
        if (created)
        {
            await schedule.ScheduleAsync(new DueWork { Kind = ReconcileRefundWork, CustomerId = refund.CustomerId, TargetId = refund.Id, Detail = refund.PaymentId, DueAt = now + ReconcileAfter }, cancellationToken);
        }

        if (!created && !string.Equals(refund.RequestHash, requestHash, StringComparison.Ordinal))
        {
            throw new InvalidStateException("This Idempotency-Key was used for a different refund request.", "idempotency_key_reused");
        }

        payment = await payments.GetAsync(payment.Id, cancellationToken) ?? payment;
        if (refund.GatewayRefundId is not null || refund.Status != RefundStatus.Pending)
        {
            return (refund, await CatchUpRefundShareAsync(refund, payment, cancellationToken));
        }

        GatewayRefund reported;
        try
        {
            reported = await SendRefundAsync(payment, refund, cancellationToken);
        }
        catch (PaymentGatewayRejectedException rejected)
        {
            await payments.UpdateRefundAsync(refund, r => r.GatewayRefundId is null ? r.Fail(rejected.Code, clock.GetUtcNow()) : r, cancellationToken);
            await payments.UpdateAsync(payment, p => p.ReleaseRefund(refund.Id, clock.GetUtcNow()), cancellationToken);
            throw;
        }

        refund = await payments.UpdateRefundAsync(refund, r => r.Apply(reported, clock.GetUtcNow()), cancellationToken);
        payment = await payments.UpdateAsync(payment, p => p.ApplyRefund(refund.Id, reported.Amount.MinorUnits, reported.Status, clock.GetUtcNow()), cancellationToken);
        return (refund, payment);
    }

    /// <summary>
    /// Sends a refund to the processor. Every send of one refund — the first, a client's retry, a reconciliation resume —
    /// carries the same parameters under the same key, so the processor replays rather than refuses or refunds twice.
    /// </summary>
    private Task<GatewayRefund> SendRefundAsync(Payment payment, Refund refund, CancellationToken cancellationToken) =>
        gateway.RefundAsync(new RefundRequest
        {
            GatewayPaymentId = payment.GatewayPaymentId!,
            Amount = refund.Amount,
            Reason = refund.Reason,
            Metadata = new Dictionary<string, string>(refund.Metadata, StringComparer.Ordinal)
            {
                [GatewayMetadata.RefundId] = refund.Id,
                [GatewayMetadata.PaymentId] = payment.Id,
                [GatewayMetadata.CustomerId] = payment.CustomerId,
            },
            IdempotencyKey = IdempotencyKeys.RefundCreate(refund.Id),
        }, cancellationToken);

    /// <summary>
    /// Settles a payment that is still open after <see cref="ReconcileAfter"/>: one never sent (a crash before the processor
    /// call) is sent now with its original idempotency key — within the processor's 24 h key window, so it charges at
    /// most once — and one already sent is re-read. Returns the payment and whether it is still unsettled.
    /// </summary>
    public async Task<(Payment? Payment, bool Unsettled)> ResumePaymentAsync(string paymentId, CancellationToken cancellationToken = default)
    {
        if (await payments.GetAsync(paymentId, cancellationToken) is not { } payment)
        {
            return (null, false);
        }

        if (payment is { Status: PaymentStatus.Pending, GatewayPaymentId: null } && await customers.GetAsync(payment.CustomerId, cancellationToken) is { } customer)
        {
            try
            {
                payment = await SubmitAsync(payment, customer, cancellationToken);
            }
            catch (Exception e) when (e is PaymentDeclinedException or PaymentGatewayRejectedException)
            {
                payment = await payments.GetAsync(paymentId, cancellationToken) ?? payment;
            }
        }
        else if (payment is { Status: PaymentStatus.Pending or PaymentStatus.Processing or PaymentStatus.RequiresConfirmation, GatewayPaymentId: { } gatewayId })
        {
            payment = await ReconcileAsync(gatewayId, cancellationToken) ?? payment;
        }

        return (payment, payment.Status is PaymentStatus.Pending or PaymentStatus.Processing or PaymentStatus.RequiresConfirmation);
    }

    /// <summary>
    /// A refund settled with the gateway whose outcome never reached the payment (the process stopped between the two
    /// updates): applies it now. <see cref="Payment.ApplyRefund"/> ignores outcomes it already has, so this is idempotent.
    /// </summary>
    private async Task<Payment> CatchUpRefundShareAsync(Refund refund, Payment payment, CancellationToken cancellationToken)
    {
        if (refund.Status == RefundStatus.Pending || refund.GatewayRefundId is null
            || !payment.Refunds.TryGetValue(refund.Id, out var share) || share.State is not (RefundShareState.Reserved or RefundShareState.Pending))
        {
            return payment;
        }

        return await payments.UpdateAsync(payment, p => p.ApplyRefund(refund.Id, refund.Amount.MinorUnits, refund.Status, clock.GetUtcNow()), cancellationToken);
    }

    /// <summary>
    /// The same for a refund: a refund never sent is sent with its key; one sent but pending is re-read. Returns the refund
    /// as it now stands (failed when the processor refused it; null when there is no such refund) and whether it is still
    /// unsettled. A refund recorded with its reservation by another use case (a refund credit note) is sent through here.
    /// </summary>
    public async Task<(Refund? Refund, bool Unsettled)> ResumeRefundAsync(string customerId, string paymentId, string refundId, CancellationToken cancellationToken = default)
    {
        if (await payments.GetRefundAsync(customerId, paymentId, refundId, cancellationToken) is not { } refund)
        {
            return (null, false);
        }

        if (refund.Status != RefundStatus.Pending)
        {
            if (await payments.GetAsync(paymentId, cancellationToken) is { } settled)
            {
                await CatchUpRefundShareAsync(refund, settled, cancellationToken);
            }

            return (refund, false);
        }

        var payment = await payments.GetAsync(paymentId, cancellationToken) ?? throw new NotFoundException("payment", paymentId);
        GatewayRefund reported;
        if (refund.GatewayRefundId is { } gatewayRefundId)
        {
            reported = await gateway.GetRefundAsync(gatewayRefundId, cancellationToken);
        }
        else
        {
            try
            {
                reported = await SendRefundAsync(payment, refund, cancellationToken);
            }
            catch (PaymentGatewayRejectedException rejected)
            {
                var failed = await payments.UpdateRefundAsync(refund, r => r.GatewayRefundId is null ? r.Fail(rejected.Code, clock.GetUtcNow()) : r, cancellationToken);
                await payments.UpdateAsync(payment, p => p.ReleaseRefund(refund.Id, clock.GetUtcNow()), cancellationToken);
                return (failed, false);
            }
        }

        refund = await payments.UpdateRefundAsync(refund, r => r.Apply(reported, clock.GetUtcNow()), cancellationToken);
        await payments.UpdateAsync(payment, p => p.ApplyRefund(refund.Id, reported.Amount.MinorUnits, reported.Status, clock.GetUtcNow()), cancellationToken);
        return (refund, refund.Status == RefundStatus.Pending);
    }

    /// <summary>
    /// Re-reads a processor payment and its refunds and mirrors them on our records (whatever the order or number of
    /// events that prompted it). Returns null when the payment is not one of ours (no matching metadata or record).
    /// </summary>
    public async Task<Payment?> ReconcileAsync(string gatewayPaymentId, CancellationToken cancellationToken = default)
    {
        var reported = await gateway.GetPaymentAsync(gatewayPaymentId, cancellationToken);
        var customerId = reported.Metadata.GetValueOrDefault(GatewayMetadata.CustomerId);
        var payment = reported.Metadata.TryGetValue(GatewayMetadata.PaymentId, out var paymentId)
            ? await payments.GetAsync(paymentId, cancellationToken)
            : customerId is null ? null : await payments.FindByRequestKeyAsync(customerId, Payment.AdoptionKey(gatewayPaymentId), cancellationToken); // an adopted invoice payment
        if (payment is null || !string.Equals(customerId, payment.CustomerId, StringComparison.Ordinal)
            || !string.Equals(payment.GatewayPaymentId ?? gatewayPaymentId, gatewayPaymentId, StringComparison.Ordinal))
        {
            return null;
        }

        payment = await payments.UpdateAsync(payment, p => p.Apply(reported, clock.GetUtcNow()), cancellationToken);
        if (reported.AmountRefunded == 0 && payment.Refunds.Count == 0)
        {
            return payment;
        }

        var refunds = await gateway.ListRefundsAsync(gatewayPaymentId, payment.Amount.Currency, cancellationToken);
        foreach (var r in refunds)
        {
            if (r.Metadata.TryGetValue(GatewayMetadata.RefundId, out var refundId) && await payments.GetRefundAsync(payment.CustomerId, payment.Id, refundId, cancellationToken) is { } ours)
            {
                await payments.UpdateRefundAsync(ours, x => x.Apply(r, clock.GetUtcNow()), cancellationToken);
            }
        }

        return await payments.UpdateAsync(payment, p => refunds.Aggregate(p, (acc, r) =>
            acc.ApplyRefund(r.Metadata.GetValueOrDefault(GatewayMetadata.RefundId) ?? r.Id, r.Amount.MinorUnits, r.Status, clock.GetUtcNow())), cancellationToken);
    }

    /// <summary>
    /// A processor payment made outside the payments API (an invoice's collection charge) as our record would show it:
    /// the adopted record if there is one (see <see cref="Payment.Adopt"/>), otherwise a new, unsaved one built from the
    /// processor's payment and its refunds (<c>Saved = false</c>; the caller stores it under
    /// <see cref="Payment.AdoptionKey"/>, e.g. together with the first refund reserved on it).
    /// </summary>
    public async Task<(Payment Payment, bool Saved)> ViewGatewayPaymentAsync(string customerId, string gatewayPaymentId, string? invoiceId, string? description, CancellationToken cancellationToken = default)
    {
        if (await payments.FindByRequestKeyAsync(customerId, Payment.AdoptionKey(gatewayPaymentId), cancellationToken) is { } adopted)
        {
            return (adopted, true);
        }

        var reported = await gateway.GetPaymentAsync(gatewayPaymentId, cancellationToken);
        var refunds = reported.AmountRefunded > 0 ? await gateway.ListRefundsAsync(gatewayPaymentId, reported.Amount.Currency, cancellationToken) : [];
        var now = clock.GetUtcNow();
        var created = reported.Created == default ? now : reported.Created;
        return (Payment.Adopt(Ids.New(Payment.IdPrefix, created), customerId, reported, refunds, invoiceId, description, now), false);
    }

    /// <summary>
    /// Mirrors the processor customer's default payment method on our customer; when it has none and
    /// <paramref name="candidate"/> is attached to it, makes that the default (the first saved card becomes the default).
    /// Returns the customer, or null when the processor customer is not one of ours.
    /// </summary>
    public async Task<Customer?> SyncDefaultPaymentMethodAsync(string gatewayCustomerId, string? candidate, CancellationToken cancellationToken = default)
    {
        var reported = await gateway.GetCustomerAsync(gatewayCustomerId, cancellationToken);
        if (reported?.CustomerId is not { } customerId || await customers.GetAsync(customerId, cancellationToken) is not { } customer
            || !string.Equals(customer.StripeCustomerId, gatewayCustomerId, StringComparison.Ordinal))
        {
            return null;
        }

        var preferred = reported.DefaultPaymentMethodId;
        if (preferred is null && candidate is not null && (await gateway.GetPaymentMethodAsync(candidate, cancellationToken))?.GatewayCustomerId == gatewayCustomerId)
        {
            await gateway.SetDefaultPaymentMethodAsync(gatewayCustomerId, candidate, cancellationToken);
            preferred = candidate;
        }

        return await customers.UpdateAsync(customerId, c => c.DefaultPaymentMethodId == preferred ? c : c with { DefaultPaymentMethodId = preferred }, cancellationToken);
    }
}
