using System.Net;
using Billing.Domain;
using Billing.Domain.Payments;
using Microsoft.Extensions.Options;
using Stripe;

namespace Billing.Functions.StripeGateway;

/// <summary>
/// <see cref="IPaymentGateway"/> on Stripe.net. Each call runs with its own timeout and is retried after 429, 5xx,
/// timeouts and network errors with exponential backoff and full jitter, always with the same idempotency key (Stripe.net
/// itself does not retry 429, and its own retries are off so there is one policy). Money-moving calls use the caller's
/// deterministic key; other POSTs get a random key per call, shared by that call's retries. Stripe request ids go to
/// the log only.
/// </summary>
public sealed partial class StripePaymentGateway(StripeRuntime runtime, IOptions<StripeOptions> options, TimeProvider clock, ILogger<StripePaymentGateway> logger) : IPaymentGateway
{
    private static readonly List<string> PaymentExpand = ["latest_charge", "payment_method"];
    private readonly StripeOptions settings = options.Value;

    private IStripeClient Client => runtime.Client;

    public Task<string> CreateCustomerAsync(string customerId, string? email, string? name, CancellationToken cancellationToken = default) =>
        CallAsync("customer.create", IdempotencyKeys.GatewayCustomer(customerId), async (ro, ct) =>
        {
            var customer = await new CustomerService(Client).CreateAsync(new CustomerCreateOptions
            {
                Email = email,
                Name = name,
                Metadata = new Dictionary<string, string> { [GatewayMetadata.CustomerId] = customerId },
            }, ro, ct);
            return customer.Id;
        }, cancellationToken);

    public Task<GatewayCustomer?> GetCustomerAsync(string gatewayCustomerId, CancellationToken cancellationToken = default) =>
        CallAsync<GatewayCustomer?>("customer.get", null, async (ro, ct) =>
        {
            var c = await new CustomerService(Client).GetAsync(gatewayCustomerId, null, ro, ct);
            return new GatewayCustomer(c.Id, c.Metadata?.GetValueOrDefault(GatewayMetadata.CustomerId), c.InvoiceSettings?.DefaultPaymentMethodId, c.Deleted == true);
        }, cancellationToken, missingIsNull: true);

    public Task<GatewaySetupIntent> CreateSetupIntentAsync(string gatewayCustomerId, string customerId, string idempotencyKey, CancellationToken cancellationToken = default) =>
        CallAsync("setup_intent.create", idempotencyKey, async (ro, ct) => Map(await new SetupIntentService(Client).CreateAsync(new SetupIntentCreateOptions
        {
            Customer = gatewayCustomerId,
            Usage = "off_session",
            AutomaticPaymentMethods = new SetupIntentAutomaticPaymentMethodsOptions { Enabled = true, AllowRedirects = "never" },
            Metadata = new Dictionary<string, string> { [GatewayMetadata.CustomerId] = customerId },
        }, ro, ct)), cancellationToken);

    public Task<GatewaySetupIntent> GetSetupIntentAsync(string setupIntentId, CancellationToken cancellationToken = default) =>
        CallAsync("setup_intent.get", null, async (ro, ct) => Map(await new SetupIntentService(Client).GetAsync(setupIntentId, null, ro, ct)), cancellationToken);

    public Task<IReadOnlyList<GatewayPaymentMethod>> ListPaymentMethodsAsync(string gatewayCustomerId, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<GatewayPaymentMethod>>("payment_method.list", null, async (ro, ct) =>
        {
            var list = await new PaymentMethodService(Client).ListAsync(new PaymentMethodListOptions { Customer = gatewayCustomerId, Type = "card", Limit = 100 }, ro, ct);
            return [.. list.Data.Select(Map)];
        }, cancellationToken);

    public Task<GatewayPaymentMethod?> GetPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default) =>
        CallAsync<GatewayPaymentMethod?>("payment_method.get", null, async (ro, ct) => Map(await new PaymentMethodService(Client).GetAsync(paymentMethodId, null, ro, ct)),
            cancellationToken, missingIsNull: true);

    public async Task<GatewayPaymentMethod> AttachPaymentMethodAsync(string gatewayCustomerId, string paymentMethodId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CallAsync("payment_method.attach", RandomKey(), async (ro, ct) =>
                Map(await new PaymentMethodService(Client).AttachAsync(paymentMethodId, new PaymentMethodAttachOptions { Customer = gatewayCustomerId }, ro, ct)), cancellationToken);
        }
        catch (CardDeclined declined)
        {
            throw new PaymentDeclinedException(declined.Failure);
        }
    }

    public Task DetachPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default) =>
        CallAsync("payment_method.detach", RandomKey(), async (ro, ct) => await new PaymentMethodService(Client).DetachAsync(paymentMethodId, null, ro, ct), cancellationToken);

    public Task SetDefaultPaymentMethodAsync(string gatewayCustomerId, string? paymentMethodId, CancellationToken cancellationToken = default) =>
        CallAsync("customer.update", RandomKey(), async (ro, ct) => await new CustomerService(Client).UpdateAsync(gatewayCustomerId, new CustomerUpdateOptions
        {
            InvoiceSettings = new CustomerInvoiceSettingsOptions { DefaultPaymentMethod = paymentMethodId ?? string.Empty },
        }, ro, ct), cancellationToken);

    public async Task<GatewayPayment> ChargeAsync(ChargeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var paymentMethod = request.PaymentMethodId
            ?? (await GetCustomerAsync(request.GatewayCustomerId, cancellationToken))?.DefaultPaymentMethodId
            ?? throw new PaymentGatewayRejectedException("payment_method_required", "The customer has no default payment method.", isConflict: true, "payment_method");
        var currency = request.Amount.Currency;
        var create = new PaymentIntentCreateOptions
        {
            Amount = currency.ToStripeAmount(request.Amount.MinorUnits),
            Currency = currency.Code.ToLowerInvariant(),
            Customer = request.GatewayCustomerId,
            PaymentMethod = paymentMethod,
            Confirm = true,
            OffSession = request.OffSession ? true : null,
            AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true, AllowRedirects = "never" },
            Description = request.Description,
            Metadata = request.Metadata.ToDictionary(StringComparer.Ordinal),
            Expand = PaymentExpand,
        };
        try
        {
            return await CallAsync("payment_intent.create", request.IdempotencyKey, async (ro, ct) => Map(await new PaymentIntentService(Client).CreateAsync(create, ro, ct)), cancellationToken);
        }
        catch (CardDeclined declined) when (declined.Error?.PaymentIntent is { } intent)
        {
            // The decline is the saved result of this idempotency key: the PaymentIntent exists and failed.
            var card = declined.Error.PaymentMethod?.Card;
            return Map(intent) with
            {
                Failure = declined.Failure,
                CardBrand = card?.Brand,
                CardLast4 = card?.Last4,
                PaymentMethodId = declined.Error.PaymentMethod?.Id ?? intent.PaymentMethodId,
                ChargeId = declined.Error.Charge ?? intent.LatestChargeId,
            };
        }
        catch (CardDeclined declined)
        {
            throw new PaymentDeclinedException(declined.Failure);
        }
    }

    public Task<GatewayPayment> GetPaymentAsync(string gatewayPaymentId, CancellationToken cancellationToken = default) =>
        CallAsync("payment_intent.get", null, async (ro, ct) =>
            Map(await new PaymentIntentService(Client).GetAsync(gatewayPaymentId, new PaymentIntentGetOptions { Expand = PaymentExpand }, ro, ct)), cancellationToken);

    public Task<GatewayRefund> RefundAsync(RefundRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var create = new RefundCreateOptions
        {
            PaymentIntent = request.GatewayPaymentId,
            Amount = request.Amount.Currency.ToStripeAmount(request.Amount.MinorUnits),
            Reason = request.Reason switch
            {
                RefundReason.Duplicate => "duplicate",
                RefundReason.Fraudulent => "fraudulent",
                RefundReason.RequestedByCustomer => "requested_by_customer",
                _ => null,
            },
            Metadata = request.Metadata.ToDictionary(StringComparer.Ordinal),
        };
        return CallAsync("refund.create", request.IdempotencyKey, async (ro, ct) => Map(await new RefundService(Client).CreateAsync(create, ro, ct)), cancellationToken);
    }

    public Task<GatewayRefund> GetRefundAsync(string gatewayRefundId, CancellationToken cancellationToken = default) =>
        CallAsync("refund.get", null, async (ro, ct) => Map(await new RefundService(Client).GetAsync(gatewayRefundId, null, ro, ct)), cancellationToken);

    public Task<IReadOnlyList<GatewayRefund>> ListRefundsAsync(string gatewayPaymentId, Currency currency, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<GatewayRefund>>("refund.list", null, async (ro, ct) =>
        {
            var refunds = new List<GatewayRefund>();
            var options = new RefundListOptions { PaymentIntent = gatewayPaymentId, Limit = 100 };
            while (true)
            {
                var page = await new RefundService(Client).ListAsync(options, ro, ct);
                refunds.AddRange(page.Data.Select(Map));
                if (!page.HasMore || page.Data.Count == 0)
                {
                    return refunds;
                }

                options.StartingAfter = page.Data[^1].Id;
            }
        }, cancellationToken);

    /// <summary>
    /// Runs one Stripe call with bounded retries of transient failures (same idempotency key each time). Card errors
    /// become <see cref="CardDeclined"/>; other refusals <see cref="PaymentGatewayRejectedException"/>; transient
    /// failures that outlive the retries <see cref="PaymentGatewayUnavailableException"/>.
    /// </summary>
    private async Task<T> CallAsync<T>(string operation, string? idempotencyKey, Func<RequestOptions, CancellationToken, Task<T>> call, CancellationToken cancellationToken, bool missingIsNull = false)
    {
        var requestOptions = new RequestOptions { IdempotencyKey = idempotencyKey };
        for (var attempt = 0; ; attempt++)
        {
            Exception failure;
            var retryAfter = TimeSpan.Zero;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(settings.RequestTimeout);
                try
                {
                    return await call(requestOptions, timeout.Token);
                }
                catch (StripeException e) when (IsTransient(e))
                {
                    failure = e;
                    retryAfter = RetryAfterHint(e);
                    LogTransient(logger, operation, (int)e.HttpStatusCode, e.StripeError?.Code, e.StripeResponse?.RequestId, attempt + 1);
                }
                catch (StripeException e) when (missingIsNull && e.HttpStatusCode == HttpStatusCode.NotFound)
                {
                    return default!;
                }
                catch (StripeException e)
                {
                    throw Translate(operation, e);
                }
                catch (HttpRequestException e)
                {
                    failure = e;
                    LogTransient(logger, operation, 0, "network_error", null, attempt + 1);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = e;
                    LogTransient(logger, operation, 0, "timeout", null, attempt + 1);
                }
            }

            if (attempt >= settings.MaxRetries)
            {
                LogGaveUp(logger, operation, attempt + 1);
                throw new PaymentGatewayUnavailableException("The payment processor is temporarily unavailable. Retry later with the same Idempotency-Key.",
                    TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(Math.Max(retryAfter.TotalSeconds, settings.RetryMaxDelay.TotalSeconds)))), failure);
            }

            await Task.Delay(Backoff(attempt, retryAfter), clock, cancellationToken);
        }
    }

    private Exception Translate(string operation, StripeException e)
    {
        var error = e.StripeError;
        var requestId = e.StripeResponse?.RequestId;
        if (error?.Type == "card_error" || e.HttpStatusCode == HttpStatusCode.PaymentRequired)
        {
            LogDeclined(logger, operation, error?.Code, error?.DeclineCode, error?.AdviceCode, requestId);
            return new CardDeclined(PaymentFailure.From(error?.Code, error?.DeclineCode, error?.AdviceCode, error?.Message), error);
        }

        LogRejected(logger, operation, (int)e.HttpStatusCode, error?.Type, error?.Code, error?.Param, requestId);
        if (e.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || error?.Type == "idempotency_error")
        {
            // Our configuration or our keys are wrong: nothing the client can fix, and nothing to leak.
            return new InvalidOperationException($"Stripe refused {operation} ({(int)e.HttpStatusCode} {error?.Type}).");
        }

        var code = error?.Code ?? "invalid_request";
        var param = error?.Param;
        return code switch
        {
            "resource_missing" => new PaymentGatewayRejectedException(code, param is { } p && p.Contains("payment_method", StringComparison.Ordinal) || operation.StartsWith("payment_method", StringComparison.Ordinal)
                ? "No such payment method." : "The payment processor does not know the referenced object.", isConflict: false, param is null ? null : "payment_method"),
            "payment_method_unexpected_state" => new PaymentGatewayRejectedException(code, "The payment method cannot be used here (it may belong to another customer).", isConflict: true, "payment_method"),
            "payment_intent_unexpected_state" => new PaymentGatewayRejectedException(code, "The payment is not in a state that allows this.", isConflict: true),
            "charge_already_refunded" => new PaymentGatewayRejectedException(code, "The payment is already fully refunded.", isConflict: true),
            "charge_disputed" => new PaymentGatewayRejectedException(code, "The payment is disputed and cannot be refunded.", isConflict: true),
            "charge_not_refundable" => new PaymentGatewayRejectedException(code, "The payment cannot be refunded.", isConflict: true),
            "amount_too_large" or "amount_too_small" => new PaymentGatewayRejectedException(code, "The amount is outside what the payment processor accepts.", isConflict: false, "amount"),
            _ => new PaymentGatewayRejectedException(code, "The payment processor rejected the request.", isConflict: false),
        };
    }

    private static bool IsTransient(StripeException e) =>
        e.HttpStatusCode is 0 or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError
        || e.HttpStatusCode == HttpStatusCode.Conflict && e.StripeError?.Code is "lock_timeout" or "idempotency_key_in_use"
        || e.StripeError?.Code is "rate_limit" or "lock_timeout";

    private static TimeSpan RetryAfterHint(StripeException e) =>
        e.StripeResponse?.Headers?.RetryAfter?.Delta is { } delta ? delta : TimeSpan.Zero;

    /// <summary>Full jitter: uniform in [0, min(max, base · 2^attempt)], at least any Retry-After the server asked for.</summary>
    private TimeSpan Backoff(int attempt, TimeSpan retryAfter)
    {
        var ceiling = Math.Min(settings.RetryMaxDelay.TotalMilliseconds, settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt));
#pragma warning disable CA5394 // jitter, not security
        var jittered = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
#pragma warning restore CA5394
        return jittered > retryAfter ? jittered : retryAfter;
    }

    private static string RandomKey() => "op:" + Guid.NewGuid().ToString("N");

    private static GatewayPayment Map(PaymentIntent pi)
    {
        var currency = Currency.FromCode(pi.Currency);
        var charge = pi.LatestCharge;
        var chargeCard = charge?.PaymentMethodDetails?.Card;
        var methodCard = pi.PaymentMethod?.Card;
        var error = pi.LastPaymentError;
        return new GatewayPayment
        {
            Id = pi.Id,
            Status = ParsePaymentStatus(pi.Status),
            Amount = new Money(currency.ToIsoMinor(pi.Amount), currency),
            AmountReceived = currency.ToIsoMinor(pi.AmountReceived),
            AmountRefunded = charge is null ? 0 : currency.ToIsoMinor(charge.AmountRefunded),
            ChargeId = pi.LatestChargeId,
            PaymentMethodId = pi.PaymentMethodId,
            CardBrand = chargeCard?.Brand ?? methodCard?.Brand,
            CardLast4 = chargeCard?.Last4 ?? methodCard?.Last4,
            ClientSecret = pi.ClientSecret,
            NextActionType = pi.NextAction?.Type,
            NextActionUrl = pi.NextAction?.RedirectToUrl?.Url,
            Failure = error is null ? null : PaymentFailure.From(error.Code, error.DeclineCode, error.AdviceCode, error.Message),
            Metadata = pi.Metadata ?? new Dictionary<string, string>(),
            Created = Utc(pi.Created),
        };
    }

    private static GatewayRefund Map(Stripe.Refund r)
    {
        var currency = Currency.FromCode(r.Currency);
        return new GatewayRefund
        {
            Id = r.Id,
            Status = r.Status switch
            {
                "succeeded" => RefundStatus.Succeeded,
                "failed" => RefundStatus.Failed,
                "canceled" => RefundStatus.Canceled,
                "requires_action" => RefundStatus.RequiresAction,
                _ => RefundStatus.Pending,
            },
            Amount = new Money(currency.ToIsoMinor(r.Amount), currency),
            GatewayPaymentId = r.PaymentIntentId,
            FailureReason = r.FailureReason,
            Metadata = r.Metadata ?? new Dictionary<string, string>(),
            Created = Utc(r.Created),
        };
    }

    private static GatewaySetupIntent Map(SetupIntent si) =>
        new(si.Id, si.Status, si.ClientSecret, si.CustomerId, si.PaymentMethodId, si.Metadata?.GetValueOrDefault(GatewayMetadata.CustomerId));

    private static GatewayPaymentMethod Map(PaymentMethod pm) =>
        new(pm.Id, pm.Type, pm.CustomerId, pm.Card?.Brand, pm.Card?.Last4, pm.Card?.ExpMonth, pm.Card?.ExpYear, pm.Card?.Funding);

    /// <summary>Stripe's PaymentIntent status as ours.</summary>
    public static PaymentStatus ParsePaymentStatus(string? status) => status switch
    {
        "requires_payment_method" => PaymentStatus.RequiresPaymentMethod,
        "requires_confirmation" => PaymentStatus.RequiresConfirmation,
        "requires_action" => PaymentStatus.RequiresAction,
        "processing" => PaymentStatus.Processing,
        "requires_capture" => PaymentStatus.RequiresCapture,
        "canceled" => PaymentStatus.Canceled,
        "succeeded" => PaymentStatus.Succeeded,
        _ => PaymentStatus.Pending,
    };

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe {Operation} failed transiently (HTTP {Status}, {Code}, request {RequestId}), attempt {Attempt}")]
    private static partial void LogTransient(ILogger logger, string operation, int status, string? code, string? requestId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stripe {Operation} still failing after {Attempts} attempts; giving up for now")]
    private static partial void LogGaveUp(ILogger logger, string operation, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe {Operation} declined: {Code}/{DeclineCode} advice {AdviceCode} (request {RequestId})")]
    private static partial void LogDeclined(ILogger logger, string operation, string? code, string? declineCode, string? adviceCode, string? requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe {Operation} rejected: HTTP {Status} {Type}/{Code} param {Param} (request {RequestId})")]
    private static partial void LogRejected(ILogger logger, string operation, int status, string? type, string? code, string? param, string? requestId);

    /// <summary>A card error inside the gateway, turned into a result or a <see cref="PaymentDeclinedException"/> by the caller.</summary>
    private sealed class CardDeclined(PaymentFailure failure, StripeError? error) : Exception(failure.Message)
    {
        public PaymentFailure Failure { get; } = failure;

        public StripeError? Error { get; } = error;
    }
}
