using Billing.Domain;
using Billing.Domain.Disputes;
using Microsoft.Extensions.Options;
using Stripe;

namespace Billing.Functions.StripeGateway;

/// <summary>
/// <see cref="IDisputeGateway"/> on Stripe.net's <c>DisputeService</c> and <c>FileService</c>, with the payment gateway's
/// retry policy (transient failures retried with the same idempotency key).
/// </summary>
public sealed class StripeDisputeGateway(StripeRuntime runtime, IOptions<StripeOptions> options, TimeProvider clock, ILogger<StripePaymentGateway> logger) : IDisputeGateway
{
    private readonly StripePaymentGateway calls = new(runtime, options, clock, logger);

    private IStripeClient Client => runtime.Client;

    public Task<DisputeSnapshot?> GetAsync(string stripeDisputeId, DateTimeOffset observedAt, CancellationToken cancellationToken = default) =>
        calls.CallAsync<DisputeSnapshot?>("dispute.get", null, async (ro, ct) =>
            Snapshot(await new DisputeService(Client).GetAsync(stripeDisputeId, null, ro, ct), observedAt), cancellationToken, missingIsNull: true);

    public Task UpdateEvidenceAsync(string stripeDisputeId, IReadOnlyDictionary<string, string> evidence, bool submit, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var update = new DisputeUpdateOptions { Evidence = Evidence(evidence, out var extra), Submit = submit };
        foreach (var (name, value) in extra)
        {
            // Fields newer than this Stripe.net's typed options go as raw form parameters.
            update.AddExtraParam($"evidence[{name}]", value);
        }

        return calls.CallAsync("dispute.update", idempotencyKey, async (ro, ct) => await new DisputeService(Client).UpdateAsync(stripeDisputeId, update, ro, ct), cancellationToken);
    }

    public Task CloseAsync(string stripeDisputeId, string idempotencyKey, CancellationToken cancellationToken = default) =>
        calls.CallAsync("dispute.close", idempotencyKey, async (ro, ct) => await new DisputeService(Client).CloseAsync(stripeDisputeId, null, ro, ct), cancellationToken);

    public Task<string> UploadEvidenceFileAsync(string fileName, string contentType, byte[] content, string idempotencyKey, CancellationToken cancellationToken = default) =>
        calls.CallAsync("file.create", idempotencyKey, async (ro, ct) =>
        {
            using var stream = new MemoryStream(content, writable: false);
            var file = await new FileService(Client).CreateAsync(new FileCreateOptions { File = new MultipartFileContent { Data = stream, Name = fileName, Type = contentType }, Purpose = "dispute_evidence" }, ro, ct);
            return file.Id;
        }, cancellationToken);

    /// <summary>Stripe's dispute object as a snapshot: amounts in ISO minor units, funds from its balance transactions.</summary>
    public static DisputeSnapshot Snapshot(Stripe.Dispute dispute, DateTimeOffset observedAt)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        var currency = Currency.FromCode(dispute.Currency);
        var transactions = dispute.BalanceTransactions ?? [];
        var withdrawn = transactions.Where(t => t.Amount < 0).Sum(t => -t.Amount + t.Fee);
        var reinstated = transactions.Where(t => t.Amount > 0).Sum(t => t.Amount - t.Fee);
        var due = dispute.EvidenceDetails?.DueBy;
        return new DisputeSnapshot(
            dispute.Id,
            dispute.ChargeId,
            dispute.PaymentIntentId,
            new Money(currency.ToIsoMinor(dispute.Amount), currency),
            dispute.Reason ?? "general",
            dispute.Status ?? "needs_response",
            due is { } d && d > DateTime.UnixEpoch ? new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)) : null,
            (int)(dispute.EvidenceDetails?.SubmissionCount ?? 0),
            currency.ToIsoMinor(withdrawn),
            currency.ToIsoMinor(reinstated),
            observedAt);
    }

    private static DisputeEvidenceOptions Evidence(IReadOnlyDictionary<string, string> fields, out Dictionary<string, string> extra)
    {
        var e = new DisputeEvidenceOptions();
        extra = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case "access_activity_log": e.AccessActivityLog = value; break;
                case "billing_address": e.BillingAddress = value; break;
                case "cancellation_policy": e.CancellationPolicy = value; break;
                case "cancellation_policy_disclosure": e.CancellationPolicyDisclosure = value; break;
                case "cancellation_rebuttal": e.CancellationRebuttal = value; break;
                case "customer_communication": e.CustomerCommunication = value; break;
                case "customer_email_address": e.CustomerEmailAddress = value; break;
                case "customer_name": e.CustomerName = value; break;
                case "customer_purchase_ip": e.CustomerPurchaseIp = value; break;
                case "customer_signature": e.CustomerSignature = value; break;
                case "duplicate_charge_documentation": e.DuplicateChargeDocumentation = value; break;
                case "duplicate_charge_explanation": e.DuplicateChargeExplanation = value; break;
                case "duplicate_charge_id": e.DuplicateChargeId = value; break;
                case "product_description": e.ProductDescription = value; break;
                case "receipt": e.Receipt = value; break;
                case "refund_policy": e.RefundPolicy = value; break;
                case "refund_policy_disclosure": e.RefundPolicyDisclosure = value; break;
                case "refund_refusal_explanation": e.RefundRefusalExplanation = value; break;
                case "service_date": e.ServiceDate = value; break;
                case "service_documentation": e.ServiceDocumentation = value; break;
                case "shipping_address": e.ShippingAddress = value; break;
                case "shipping_carrier": e.ShippingCarrier = value; break;
                case "shipping_date": e.ShippingDate = value; break;
                case "shipping_documentation": e.ShippingDocumentation = value; break;
                case "shipping_tracking_number": e.ShippingTrackingNumber = value; break;
                case "uncategorized_file": e.UncategorizedFile = value; break;
                case "uncategorized_text": e.UncategorizedText = value; break;
                default: extra[name] = value; break;
            }
        }

        return e;
    }
}
