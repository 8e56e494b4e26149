using System.Globalization;
using Billing.Domain;
using Billing.Domain.Disputes;
using Billing.Functions.Auth;
using Billing.Functions.Http;

namespace Billing.Functions.Disputes;

/// <summary>
/// <c>/api/disputes</c> (admins only): the chargebacks and inquiries on our payments, their evidence (staged with
/// Stripe's field names, then submitted once), acceptance (irreversible, confirmed), and a summary of what is at risk.
/// </summary>
public static class DisputesApi
{
    public static IEndpointRouteBuilder MapDisputesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/disputes").WithTags("Disputes").RequireAuthorization(AuthSetup.AdminPolicy);

        group.MapGet("/", async (HttpRequest request, IDisputeStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, Dispute.IdPrefix, errors);
            string? status = request.Query["status"];
            errors.AddIf(status is not null && !IsStatus(status), "status", "Must be a dispute status such as 'needs_response', 'under_review', 'won' or 'lost'.");
            var dueBefore = ParseTime(request.Query["due_before"], "due_before", errors);
            string? customer = request.Query["customer"];
            errors.ThrowIfAny();
            if (customer is not null && !Ids.IsValid(customer, Domain.Customers.Customer.IdPrefix))
            {
                return TypedResults.Ok(new ListResponse<DisputeResponse>([], false, "/api/disputes"));
            }

            var page = await store.ListAsync(new DisputeQuery(status, dueBefore, customer, paging.Limit, paging.StartingAfter), cancellationToken);
            return TypedResults.Ok(new ListResponse<DisputeResponse>([.. page.Data.Select(DisputeResponse.From)], page.HasMore, "/api/disputes"));
        }).WithSummary("List disputes, newest first (status, due_before, customer)");

        group.MapGet("/summary", async (IDisputeStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(DisputeSummary.From(await AllAsync(store, cancellationToken))))
            .WithSummary("Open disputes, amount at risk per currency, the next deadlines and the win rate");

        group.MapGet("/{id}", async (string id, IDisputeStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(DisputeResponse.From(await LoadAsync(id, store, cancellationToken))))
            .WithSummary("Retrieve a dispute");

        group.MapPatch("/{id}/evidence", async (string id, EvidenceInput body, IDisputeStore store, DisputeService service, CancellationToken cancellationToken) =>
        {
            if (body.Evidence is not { Count: > 0 } fields)
            {
                throw DomainValidationException.For("evidence", "Send {\"evidence\": {…}} with at least one of Stripe's evidence fields.");
            }

            var dispute = await LoadAsync(id, store, cancellationToken);
            return TypedResults.Ok(DisputeResponse.From(await service.StageEvidenceAsync(dispute, fields, cancellationToken)));
        }).WithSummary("Stage evidence fields (Stripe's names; invoice:in_… attaches our invoice PDF); sent to Stripe without submitting");

        group.MapPost("/{id}/submit", async (string id, IDisputeStore store, DisputeService service, CancellationToken cancellationToken) =>
            TypedResults.Ok(DisputeResponse.From(await service.SubmitAsync(await LoadAsync(id, store, cancellationToken), cancellationToken: cancellationToken))))
            .WithSummary("Submit the staged evidence to Stripe (once; a second submission is 409)");

        group.MapPost("/{id}/accept", async (string id, AcceptInput? body, IDisputeStore store, DisputeService service, CancellationToken cancellationToken) =>
        {
            if (body?.Confirm != "accept")
            {
                throw DomainValidationException.For("confirm", "Accepting a dispute concedes it and cannot be undone; send {\"confirm\": \"accept\"}.");
            }

            return TypedResults.Ok(DisputeResponse.From(await service.AcceptAsync(await LoadAsync(id, store, cancellationToken), cancellationToken)));
        }).WithSummary("Accept (concede) the dispute: irreversible, requires {\"confirm\": \"accept\"}");

        return routes;
    }

    private static async Task<Dispute> LoadAsync(string id, IDisputeStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("dispute", id);

    private static async Task<List<Dispute>> AllAsync(IDisputeStore store, CancellationToken cancellationToken)
    {
        var all = new List<Dispute>();
        string? after = null;
        while (true)
        {
            var page = await store.ListAsync(new DisputeQuery(null, null, null, Paging.MaxLimit, after), cancellationToken);
            all.AddRange(page.Data);
            if (!page.HasMore || page.Data.Count == 0)
            {
                return all;
            }

            after = page.Data[^1].Id;
        }
    }

    private static bool IsStatus(string status) => status is "warning_needs_response" or "warning_under_review" or "warning_closed"
        or "needs_response" or "under_review" or "won" or "lost" or "prevented";

    /// <summary>Unix seconds or an ISO 8601 timestamp.</summary>
    private static DateTimeOffset? ParseTime(string? raw, string field, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        if (long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 253402300800)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        errors.Add(field, "Must be a Unix timestamp or an ISO 8601 date-time.");
        return null;
    }
}

/// <summary>The body of <c>PATCH /api/disputes/{id}/evidence</c>: Stripe's evidence field names; an empty value removes a field.</summary>
public sealed record EvidenceInput(Dictionary<string, string?>? Evidence);

/// <summary>The body of <c>POST /api/disputes/{id}/accept</c>.</summary>
public sealed record AcceptInput(string? Confirm);

/// <summary>A dispute on the wire.</summary>
public sealed record DisputeResponse(
    string Id,
    string StripeDisputeId,
    string? Charge,
    string? PaymentIntent,
    string? Payment,
    string? Invoice,
    string? Customer,
    string? Subscription,
    bool Unlinked,
    long Amount,
    string Currency,
    string Reason,
    string Status,
    string? Outcome,
    bool IsInquiry,
    DateTimeOffset? EvidenceDueBy,
    DeadlineStatus DeadlineStatus,
    DateTimeOffset? NextReminderAt,
    IReadOnlyList<DateTimeOffset> RemindersSent,
    IReadOnlyDictionary<string, string> Evidence,
    int SubmissionCount,
    DateTimeOffset? SubmittedAt,
    bool Accepted,
    long FundsWithdrawn,
    long FundsReinstated,
    IReadOnlyList<string> PolicyActions,
    long Version,
    DateTimeOffset Created)
{
    public string Object => "dispute";

    public static DisputeResponse From(Dispute d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return new(d.Id, d.StripeDisputeId, d.ChargeId, d.PaymentIntentId, d.PaymentId, d.InvoiceId, d.CustomerId, d.SubscriptionId, d.Unlinked,
            d.Amount.MinorUnits, d.Amount.Currency.Code.ToLowerInvariant(), d.Reason, d.Status, d.Outcome, d.IsInquiry, d.EvidenceDueBy, d.DeadlineStatus,
            d.NextReminderAt, d.RemindersSent, d.StagedEvidence, d.SubmissionCount, d.SubmittedAt, d.Accepted, d.FundsWithdrawn, d.FundsReinstated,
            d.PolicyActions, d.Version, d.Created);
    }
}

/// <summary><c>GET /api/disputes/summary</c>: what is open and at risk, what is due next, and how often we win.</summary>
public sealed record DisputeSummary(
    int Open,
    IReadOnlyDictionary<string, long> AmountAtRisk,
    IReadOnlyList<DisputeDeadline> NextDeadlines,
    int Won,
    int Lost,
    double? WinRate)
{
    public string Object => "dispute_summary";

    public static DisputeSummary From(IReadOnlyList<Dispute> disputes)
    {
        ArgumentNullException.ThrowIfNull(disputes);
        var open = disputes.Where(d => !d.IsClosed).ToList();
        var atRisk = open.GroupBy(d => d.Amount.Currency.Code.ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(d => d.Amount.MinorUnits), StringComparer.Ordinal);
        var next = open.Where(d => d.AwaitsResponse && d.DeadlineStatus == DeadlineStatus.Pending)
            .OrderBy(d => d.EvidenceDueBy)
            .ThenBy(d => d.Id, StringComparer.Ordinal)
            .Take(5)
            .Select(d => new DisputeDeadline(d.Id, d.CustomerId, d.EvidenceDueBy!.Value, d.Amount.MinorUnits, d.Amount.Currency.Code.ToLowerInvariant(), d.StagedEvidence.Count > 0))
            .ToList();
        var won = disputes.Count(d => d.Status == "won");
        var lost = disputes.Count(d => d.Status == "lost");
        return new DisputeSummary(open.Count, atRisk, next, won, lost, won + lost == 0 ? null : Math.Round((double)won / (won + lost), 4));
    }
}

/// <summary>An upcoming evidence deadline in the summary.</summary>
public sealed record DisputeDeadline(string Id, string? Customer, DateTimeOffset EvidenceDueBy, long Amount, string Currency, bool EvidenceStaged);
