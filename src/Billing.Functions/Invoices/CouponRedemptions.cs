using Billing.Domain;
using Billing.Domain.Invoicing;
using Billing.Domain.Scheduling;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;

namespace Billing.Functions.Invoices;

/// <summary>
/// Row <c>redeemed|{discount id}</c> in the target's (customer) partition: which way a reserved redemption went. The
/// save of the target inserts it as applied in the same transaction that stores the discount; giving a redemption back
/// first inserts it as returned. Whichever insert comes first wins, so a redemption can never be both given back and
/// saved on its target.
/// </summary>
public sealed record RedemptionFence(string CouponId, string DiscountId, string TargetId, bool Applied, DateTimeOffset At);

/// <summary>A reserved redemption: the discount to save on the target, and the fence row that must be saved with it.</summary>
public sealed class CouponReservation(CouponRedemption redemption, DueWork settleWork)
{
    public CouponRedemption Redemption { get; } = redemption;

    public Discount Discount => Redemption.Discount;

    /// <summary>The due-work item that settles the redemption if this request never does.</summary>
    public DueWork SettleWork { get; } = settleWork;

    /// <summary>Adds the applied fence to the transaction (customer partition) that saves <see cref="Discount"/> on the target.</summary>
    public PartitionBatch AddTo(PartitionBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Insert(CouponRedemptions.FenceRow(Discount.Id),
            new RedemptionFence(Redemption.CouponId, Discount.Id, Redemption.TargetId, Applied: true, Redemption.ReservedAt));
    }
}

/// <summary>
/// Exact coupon redemption counting under concurrency and crashes. A redemption is a row
/// <c>redemption|{coupon}|{target}</c> in partition <c>coupons</c>, inserted in one transaction with the coupon row whose
/// <c>times_redeemed</c> it raises (If-Match), after <c>max_redemptions</c> and <c>redeem_by</c> were checked on that very
/// version: the count always equals the number of redemption rows and can never pass the maximum, whatever runs in
/// parallel on any number of instances. The discount is then saved on its target (customer, subscription or invoice,
/// another partition) together with the fence row (see <see cref="RedemptionFence"/>), and the redemption is settled:
/// applied when the fence says so, otherwise given back (row removed and count lowered in one transaction). A request
/// that fails settles at once; one that stops (crash) is settled by due work <c>coupon_redemption</c> scheduled before
/// the reservation, <see cref="SettleAfter"/> later. A retry for the same target takes over a reservation that was
/// never settled instead of counting a second one; a target that already redeemed the coupon gets 409
/// <c>coupon_already_redeemed</c>.
/// </summary>
public sealed partial class CouponRedemptions(TableInvoicingStore store, IScheduleStore schedule, TimeProvider clock, ILogger<CouponRedemptions> logger)
{
    public const string WorkKind = "coupon_redemption";

    /// <summary>How long a reservation may wait for its target to be saved before due work gives it back.</summary>
    public static readonly TimeSpan SettleAfter = TimeSpan.FromMinutes(15);

    private const int MaxAttempts = 100;

    public static string RedemptionRow(string couponId, string targetId) => $"redemption|{couponId}|{targetId}";

    public static string FenceRow(string discountId) => "redeemed|" + discountId;

    /// <summary>
    /// Reserves a redemption of <paramref name="couponId"/> for <paramref name="targetId"/> (a customer, subscription
    /// or invoice of <paramref name="customerId"/>) and returns the discount to save, starting at <paramref name="now"/>
    /// (the customer's clock). Throws 400 for an unknown coupon, 409 <c>coupon_expired</c> past <c>redeem_by</c> or
    /// <c>max_redemptions</c>, 409 <c>coupon_already_redeemed</c> when the target redeemed it before.
    /// </summary>
    public async Task<CouponReservation> ReserveAsync(string couponId, string customerId, string targetId, string? subscriptionId, DateTimeOffset now,
        CancellationToken cancellationToken = default)
    {
        if (!BillingReferences.IsCouponId(couponId))
        {
            throw DomainValidationException.For("coupon", $"No such coupon: '{couponId}'.");
        }

        var row = RedemptionRow(couponId, targetId);
        var reservedAt = clock.GetUtcNow();
        var work = new DueWork { Kind = WorkKind, CustomerId = customerId, TargetId = targetId, Detail = couponId, DueAt = reservedAt + SettleAfter };
        var scheduled = false;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var coupon = await store.GetAsync<Coupon>(TableInvoicingStore.CouponPartition, TableInvoicingStore.CouponRow(couponId), cancellationToken)
                ?? throw DomainValidationException.For("coupon", $"No such coupon: '{couponId}'.");
            if (await store.GetAsync<CouponRedemption>(TableInvoicingStore.CouponPartition, row, cancellationToken) is { } existing)
            {
                if (await TakeOverAsync(existing, work, cancellationToken) is { } takenOver)
                {
                    return takenOver;
                }

                continue;
            }

            coupon.Value.EnsureRedeemable(now);
            if (!scheduled)
            {
                // Before the reservation exists, so a stop right after it still has something to settle it. Left in
                // place if no reservation follows: it then finds nothing of its own to settle.
                await schedule.ScheduleAsync(work, cancellationToken);
                scheduled = true;
            }

            var (discount, counted) = Discount.Apply(coupon.Value, customerId, subscriptionId, Ids.New(Discount.IdPrefix, now), now);
            var redemption = new CouponRedemption
            {
                CouponId = couponId,
                CustomerId = customerId,
                TargetId = targetId,
                Discount = discount,
                Status = RedemptionStatus.Reserved,
                ReservedAt = reservedAt,
            };
            var batch = new PartitionBatch(TableInvoicingStore.CouponPartition)
                .Replace(TableInvoicingStore.CouponRow(couponId), counted, coupon.ETag)
                .Insert(row, redemption);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                return new CouponReservation(redemption, work);
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException($"Coupon '{couponId}' is being redeemed concurrently too often; retry the request.");
    }

    /// <summary>
    /// Throws 409 when the reservation was given back meanwhile (due work settled it while this request was stalled), so
    /// the caller stops retrying its save; the client's retry reserves afresh.
    /// </summary>
    public async Task EnsureStillReservedAsync(CouponReservation reservation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        if (await store.GetAsync<RedemptionFence>(reservation.Redemption.CustomerId, FenceRow(reservation.Discount.Id), cancellationToken) is { Value.Applied: false })
        {
            throw new ConcurrencyConflictException($"The redemption of coupon '{reservation.Redemption.CouponId}' expired before it was saved; retry the request.");
        }
    }

    /// <summary>
    /// Settles what the request did with its reservation (applied if the discount was saved, otherwise given back) and
    /// drops its due work. Never throws: when storage fails here, the due work settles it later.
    /// </summary>
    public async Task SettleQuietlyAsync(CouponReservation? reservation)
    {
        if (reservation is null)
        {
            return;
        }

        var r = reservation.Redemption;
        try
        {
            await SettleAsync(r.CouponId, r.TargetId, r.CustomerId, r.Discount.Id, CancellationToken.None);
            await schedule.CancelAsync(reservation.SettleWork, CancellationToken.None);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or ConcurrencyConflictException or OperationCanceledException or InvalidOperationException)
        {
            LogSettleDeferred(logger, e, r.CouponId, r.TargetId);
        }
    }

    /// <summary>
    /// The due work: settles the redemption of coupon <see cref="DueWork.Detail"/> by target <see cref="DueWork.TargetId"/>
    /// unless a retry of the request took it over after this item was scheduled (its own item comes later).
    /// </summary>
    public async Task SettleDueAsync(DueWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Detail is not { } couponId
            || await store.GetAsync<CouponRedemption>(TableInvoicingStore.CouponPartition, RedemptionRow(couponId, work.TargetId), cancellationToken) is not { } row
            || row.Value.Status == RedemptionStatus.Applied
            || row.Value.ReservedAt + SettleAfter > work.DueAt)
        {
            return;
        }

        var settled = await SettleAsync(couponId, work.TargetId, work.CustomerId, row.Value.Discount.Id, cancellationToken);
        LogSettled(logger, couponId, work.TargetId, settled ? "applied" : "given back");
    }

    /// <summary>Applied when the fence says the discount reached its target; otherwise fences it off and gives the redemption back. True when applied.</summary>
    private async Task<bool> SettleAsync(string couponId, string targetId, string customerId, string discountId, CancellationToken cancellationToken)
    {
        var fence = await FenceAsync(couponId, targetId, customerId, discountId, cancellationToken);
        if (fence.Applied)
        {
            await MarkAppliedAsync(couponId, targetId, discountId, cancellationToken);
            return true;
        }

        await GiveBackAsync(couponId, targetId, discountId, cancellationToken);
        return false;
    }

    /// <summary>The fence that stands for <paramref name="discountId"/>: the applied one, or the returned one this call inserts when there is none.</summary>
    private async Task<RedemptionFence> FenceAsync(string couponId, string targetId, string customerId, string discountId, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<RedemptionFence>(customerId, FenceRow(discountId), cancellationToken) is { } standing)
        {
            return standing.Value;
        }

        var returned = new RedemptionFence(couponId, discountId, targetId, Applied: false, clock.GetUtcNow());
        if (await new PartitionBatch(customerId).Insert(FenceRow(discountId), returned).TrySubmitAsync(store.Client, cancellationToken))
        {
            return returned;
        }

        return (await store.GetAsync<RedemptionFence>(customerId, FenceRow(discountId), cancellationToken))?.Value
            ?? throw new ConcurrencyConflictException($"The redemption fence of discount '{discountId}' could not be read back.");
    }

    /// <summary>
    /// An earlier reservation for the same target exists: applied → 409; returned → finish giving it back (null: reserve
    /// again); still open → this request takes it over (same discount, settle time moved on).
    /// </summary>
    private async Task<CouponReservation?> TakeOverAsync(Stored<CouponRedemption> existing, DueWork work, CancellationToken cancellationToken)
    {
        var r = existing.Value;
        if (r.Status == RedemptionStatus.Applied)
        {
            throw AlreadyRedeemed(r.CouponId, r.TargetId);
        }

        switch ((await store.GetAsync<RedemptionFence>(r.CustomerId, FenceRow(r.Discount.Id), cancellationToken))?.Value)
        {
            case { Applied: true }:
                await MarkAppliedAsync(r.CouponId, r.TargetId, r.Discount.Id, cancellationToken);
                throw AlreadyRedeemed(r.CouponId, r.TargetId);
            case { Applied: false }:
                await GiveBackAsync(r.CouponId, r.TargetId, r.Discount.Id, cancellationToken);
                return null;
        }

        var taken = r with { ReservedAt = work.DueAt - SettleAfter };
        if (!await store.Table.TryReplaceAsync(TableInvoicingStore.CouponPartition, RedemptionRow(r.CouponId, r.TargetId), taken, existing.ETag, cancellationToken: cancellationToken))
        {
            return null;
        }

        await schedule.ScheduleAsync(work, cancellationToken);
        return new CouponReservation(taken, work);
    }

    private async Task MarkAppliedAsync(string couponId, string targetId, string discountId, CancellationToken cancellationToken)
    {
        var row = RedemptionRow(couponId, targetId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await UnsettledAsync(row, discountId, cancellationToken) is not { } stored)
            {
                return;
            }

            if (await store.Table.TryReplaceAsync(TableInvoicingStore.CouponPartition, row, stored.Value with { Status = RedemptionStatus.Applied }, stored.ETag, cancellationToken: cancellationToken))
            {
                return;
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException($"The redemption of coupon '{couponId}' by '{targetId}' could not be settled.");
    }

    /// <summary>The redemption row still waiting to be settled for this discount; null when it is gone, applied, or another's.</summary>
    private async Task<Stored<CouponRedemption>?> UnsettledAsync(string row, string discountId, CancellationToken cancellationToken) =>
        await store.GetAsync<CouponRedemption>(TableInvoicingStore.CouponPartition, row, cancellationToken) is { } stored
            && stored.Value.Status != RedemptionStatus.Applied
            && string.Equals(stored.Value.Discount.Id, discountId, StringComparison.Ordinal)
            ? stored
            : null;

    /// <summary>Removes the redemption row and lowers the coupon's count, in one transaction (only for a returned fence).</summary>
    private async Task GiveBackAsync(string couponId, string targetId, string discountId, CancellationToken cancellationToken)
    {
        var row = RedemptionRow(couponId, targetId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await UnsettledAsync(row, discountId, cancellationToken) is not { } stored)
            {
                return;
            }

            var coupon = await store.GetAsync<Coupon>(TableInvoicingStore.CouponPartition, TableInvoicingStore.CouponRow(couponId), cancellationToken)
                ?? throw new InvalidOperationException($"Coupon '{couponId}' has a redemption but no row.");
            var batch = new PartitionBatch(TableInvoicingStore.CouponPartition)
                .Delete(row, stored.ETag)
                .Replace(TableInvoicingStore.CouponRow(couponId), coupon.Value.WithRedemptionReturned(), coupon.ETag);
            if (await batch.TrySubmitAsync(store.Client, cancellationToken))
            {
                return;
            }

            await Backoff(attempt, cancellationToken);
        }

        throw new ConcurrencyConflictException($"The redemption of coupon '{couponId}' by '{targetId}' could not be given back.");
    }

    private static InvalidStateException AlreadyRedeemed(string couponId, string targetId) =>
        new($"Coupon '{couponId}' was already redeemed by '{targetId}'; a coupon is redeemed once per customer, subscription or invoice.", "coupon_already_redeemed");

    private static Task Backoff(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(1, 4 << Math.Min(attempt, 5)), cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redemption of coupon {CouponId} by {TargetId} not settled now; its due work will settle it")]
    private static partial void LogSettleDeferred(ILogger logger, Exception exception, string couponId, string targetId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redemption of coupon {CouponId} by {TargetId} settled by due work: {Outcome}")]
    private static partial void LogSettled(ILogger logger, string couponId, string targetId, string outcome);
}

/// <summary>Runs due work <c>coupon_redemption</c>: settles a redemption whose request never did.</summary>
public sealed class CouponRedemptionHandler(CouponRedemptions redemptions) : IWorkHandler
{
    public string Kind => CouponRedemptions.WorkKind;

    public Task HandleAsync(DueWork work, CancellationToken cancellationToken) => redemptions.SettleDueAsync(work, cancellationToken);
}
