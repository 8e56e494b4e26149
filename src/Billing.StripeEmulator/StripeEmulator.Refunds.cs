using System.Globalization;
using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

public sealed partial class StripeEmulator
{
    private RefundRec RequireRefund(string id) =>
        _refunds.GetValueOrDefault(id) ?? throw StripeApiException.Missing("refund", id);

    private JsonObject CreateRefund(FormParams p)
    {
        var chargeId = p.Get("charge");
        var piId = p.Get("payment_intent");
        ChargeRec ch;
        if (chargeId is not null)
        {
            ch = RequireCharge(chargeId, "charge");
        }
        else if (piId is not null)
        {
            var pi = _paymentIntents.GetValueOrDefault(piId) ?? throw StripeApiException.Missing("payment_intent", piId, "payment_intent");
            if (pi.Status != "succeeded" || pi.LatestChargeId is null)
            {
                throw new StripeApiException(
                    400, "invalid_request_error",
                    $"This PaymentIntent ({pi.Id}) does not have a successful charge to refund.", "charge_not_refundable", "payment_intent");
            }

            ch = _charges[pi.LatestChargeId];
        }
        else
        {
            throw StripeApiException.InvalidRequest("One of the following params should be provided for this request: payment_intent or charge.", null, "parameter_missing");
        }

        if (ch.Status != "succeeded" || !ch.Captured)
        {
            throw new StripeApiException(400, "invalid_request_error", $"Charge {ch.Id} has not been captured or did not succeed and cannot be refunded.", "charge_not_refundable");
        }

        if (ch.Disputed && _disputes.Values.Any(d => d.ChargeId == ch.Id && !d.IsClosed && !d.Status.StartsWith("warning_", StringComparison.Ordinal)))
        {
            throw new StripeApiException(400, "invalid_request_error", $"Charge {ch.Id} has been charged back; cannot issue a refund.", "charge_disputed");
        }

        var remaining = ch.AmountCaptured - ch.AmountRefunded;
        if (remaining <= 0)
        {
            throw new StripeApiException(400, "invalid_request_error", $"Charge {ch.Id} has already been refunded.", "charge_already_refunded");
        }

        var amount = p.GetLong("amount") ?? remaining;
        if (amount <= 0)
        {
            throw StripeApiException.InvalidRequest("This value must be greater than or equal to 1.", "amount", "amount_too_small");
        }

        if (amount > remaining)
        {
            throw new StripeApiException(
                400, "invalid_request_error",
                string.Create(CultureInfo.InvariantCulture, $"Refund amount ({Format(amount, ch.Currency)}) is greater than unrefunded amount on charge ({Format(remaining, ch.Currency)})"),
                "amount_too_large", "amount");
        }

        var reason = p.Get("reason");
        if (reason is not null and not ("duplicate" or "fraudulent" or "requested_by_customer"))
        {
            throw StripeApiException.InvalidRequest("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason");
        }

        var pending = _nextRefundsPending > 0;
        if (pending)
        {
            _nextRefundsPending--;
        }

        var refund = new RefundRec
        {
            Id = Ids.New("re_"),
            Created = NowUnix,
            Seq = ++_seq,
            Amount = amount,
            Currency = ch.Currency,
            ChargeId = ch.Id,
            PaymentIntentId = ch.PaymentIntentId,
            Reason = reason,
            Status = pending ? "pending" : "succeeded",
            BalanceTransactionId = Ids.New("txn_"),
        };
        Json.ApplyMetadata(refund.Metadata, p);
        _refunds[refund.Id] = refund;
        var before = ch.ToJson();
        ch.AmountRefunded += amount;
        var after = ch.ToJson();
        Emit("charge.refunded", after, PreviousAttributes(before, after));
        Emit("refund.created", refund.ToJson());
        return refund.ToJson();
    }

    private static string Format(long amount, string currency)
    {
        var exp = Currencies.Exponent(currency);
        var major = amount / Math.Pow(10, exp);
        return major.ToString("F" + exp.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " " + currency;
    }

    private JsonObject UpdateRefund(string id, FormParams p)
    {
        var r = RequireRefund(id);
        Json.ApplyMetadata(r.Metadata, p);
        Emit("refund.updated", r.ToJson());
        return r.ToJson();
    }

    private JsonObject ListRefunds(FormParams p)
    {
        var charge = p.Get("charge");
        var pi = p.Get("payment_intent");
        var items = _refunds.Values
            .Where(r => (charge is null || r.ChargeId == charge) && (pi is null || r.PaymentIntentId == pi))
            .OrderByDescending(r => r.Seq);
        return ListJson(items, r => r.Id, r => r.ToJson(), p, "/v1/refunds");
    }

    private void SettleRefundCore(string refundId, bool succeed, string failureReason)
    {
        var r = _refunds.GetValueOrDefault(refundId) ?? throw new ArgumentException("No such refund", nameof(refundId));
        if (r.Status != "pending")
        {
            throw new InvalidOperationException($"Refund {refundId} is {r.Status}, not pending.");
        }

        if (succeed)
        {
            r.Status = "succeeded";
            Emit("refund.updated", r.ToJson(), new JsonObject { ["status"] = "pending" });
            return;
        }

        r.Status = "failed";
        r.FailureReason = failureReason;
        var ch = _charges[r.ChargeId];
        ch.AmountRefunded -= r.Amount;
        Emit("refund.updated", r.ToJson(), new JsonObject { ["status"] = "pending" });
        Emit("refund.failed", r.ToJson());
    }

    // ----- disputes -----

    private DisputeRec RequireDispute(string id) =>
        _disputes.GetValueOrDefault(id) ?? throw StripeApiException.Missing("dispute", id);

    private DisputeRec OpenDispute(ChargeRec ch, string reason, bool inquiry)
    {
        var now = _time.GetUtcNow() + _offset;
        var d = new DisputeRec
        {
            Id = Ids.New("du_"),
            Created = now.ToUnixTimeSeconds(),
            Seq = ++_seq,
            Amount = ch.AmountCaptured - ch.AmountRefunded,
            Currency = ch.Currency,
            ChargeId = ch.Id,
            PaymentIntentId = ch.PaymentIntentId,
            DueBy = (now + Options.DisputeEvidenceWindow).ToUnixTimeSeconds(),
            Reason = reason,
            Status = inquiry ? "warning_needs_response" : "needs_response",
        };
        _disputes[d.Id] = d;
        ch.Disputed = true;
        if (!inquiry)
        {
            d.BalanceTransactions.Add(BalanceTxn(d, -d.Amount, Options.DisputeFee, "Chargeback withdrawal for " + ch.Id));
        }

        Emit("charge.dispute.created", d.ToJson(NowUnix));
        if (!inquiry)
        {
            Emit("charge.dispute.funds_withdrawn", d.ToJson(NowUnix));
        }

        return d;
    }

    private JsonObject BalanceTxn(DisputeRec d, long amount, long fee, string description) => new()
    {
        ["id"] = Ids.New("txn_"),
        ["object"] = "balance_transaction",
        ["amount"] = amount,
        ["available_on"] = NowUnix,
        ["created"] = NowUnix,
        ["currency"] = d.Currency,
        ["description"] = description,
        ["exchange_rate"] = null,
        ["fee"] = fee,
        ["fee_details"] = fee == 0
            ? new JsonArray()
            : new JsonArray(new JsonObject
            {
                ["amount"] = fee,
                ["application"] = null,
                ["currency"] = d.Currency,
                ["description"] = "Dispute fee",
                ["type"] = "stripe_fee",
            }),
        ["net"] = amount - fee,
        ["reporting_category"] = "dispute",
        ["source"] = d.Id,
        ["status"] = "available",
        ["type"] = "adjustment",
    };

    private JsonObject UpdateDispute(string id, FormParams p)
    {
        var d = RequireDispute(id);
        var evidence = p.GetHash("evidence");
        if (d.IsClosed && evidence is not null)
        {
            throw new StripeApiException(400, "invalid_request_error", $"This dispute is already closed ({d.Status}); evidence can no longer be updated.", "dispute_already_closed");
        }

        if (d.Status is "under_review" or "warning_under_review" && evidence is not null)
        {
            throw new StripeApiException(400, "invalid_request_error", "Evidence for this dispute has already been submitted and is under review.", "dispute_already_submitted");
        }

        foreach (var (field, value) in evidence ?? [])
        {
            if (DisputeRec.FileEvidenceFields.Contains(field) && value.Length > 0 && !(_files.TryGetValue(value, out var file) && file.Purpose == "dispute_evidence"))
            {
                throw StripeApiException.InvalidRequest($"No such file upload: '{value}' (evidence files need purpose dispute_evidence).", $"evidence[{field}]", "resource_missing");
            }
        }

        var before = d.ToJson(NowUnix);
        Json.ApplyMetadata(d.Metadata, p);
        if (evidence is not null)
        {
            foreach (var (k, v) in evidence)
            {
                if (v.Length == 0)
                {
                    d.Evidence.Remove(k);
                }
                else
                {
                    d.Evidence[k] = v;
                }
            }

            d.HasEvidence = d.Evidence.Count > 0;
        }

        var submit = p.GetBool("submit") ?? true;
        if (submit && evidence is not null && d.Status is "needs_response" or "warning_needs_response")
        {
            d.Status = d.Status == "needs_response" ? "under_review" : "warning_under_review";
            d.SubmissionCount++;
            var text = string.Join("\n", d.Evidence.Values);
            bool? won = text.Contains("winning_evidence", StringComparison.Ordinal) ? true
                : text.Contains("losing_evidence", StringComparison.Ordinal) ? false
                : null;
            if (won is { } outcome)
            {
                Schedule(Options.DisputeCloseDelay, () => CloseDisputeCore(d.Id, outcome));
            }
        }

        var after = d.ToJson(NowUnix);
        Emit("charge.dispute.updated", after, PreviousAttributes(before, after));
        return d.ToJson(NowUnix);
    }

    private JsonObject CloseDisputeByApi(string id)
    {
        var d = RequireDispute(id);
        if (d.Status is not ("needs_response" or "warning_needs_response"))
        {
            throw new StripeApiException(400, "invalid_request_error", $"This dispute cannot be closed because it has a status of {d.Status}.", "dispute_already_closed");
        }

        var before = d.ToJson(NowUnix);
        d.Status = d.Status == "warning_needs_response" ? "warning_closed" : "lost";
        var after = d.ToJson(NowUnix);
        Emit("charge.dispute.closed", after, PreviousAttributes(before, after));
        return d.ToJson(NowUnix);
    }

    private void CloseDisputeCore(string id, bool won)
    {
        var d = _disputes.GetValueOrDefault(id) ?? throw new ArgumentException("No such dispute", nameof(id));
        if (d.IsClosed)
        {
            return;
        }

        var before = d.ToJson(NowUnix);
        var inquiry = d.Status.StartsWith("warning_", StringComparison.Ordinal);
        d.Status = inquiry ? "warning_closed" : won ? "won" : "lost";
        if (won && !inquiry)
        {
            d.BalanceTransactions.Add(BalanceTxn(d, d.Amount, -Options.DisputeFee, "Chargeback reversal for " + d.ChargeId));
        }

        var after = d.ToJson(NowUnix);
        Emit("charge.dispute.closed", after, PreviousAttributes(before, after));
        if (won && !inquiry)
        {
            Emit("charge.dispute.funds_reinstated", d.ToJson(NowUnix));
        }
    }

    private JsonObject ListDisputes(FormParams p)
    {
        var charge = p.Get("charge");
        var pi = p.Get("payment_intent");
        var items = _disputes.Values
            .Where(d => (charge is null || d.ChargeId == charge) && (pi is null || d.PaymentIntentId == pi))
            .OrderByDescending(d => d.Seq);
        var now = NowUnix;
        return ListJson(items, d => d.Id, d => d.ToJson(now), p, "/v1/disputes");
    }

    // ----- events -----

    private JsonObject ListEvents(FormParams p)
    {
        var type = p.Get("type");
        var types = p.GetList("types");
        bool Matches(string t) =>
            (type is null || t == type || (type.EndsWith(".*", StringComparison.Ordinal) && t.StartsWith(type[..^1], StringComparison.Ordinal)))
            && (types.Count == 0 || types.Contains(t));
        var items = Enumerable.Reverse(_events).Where(e => Matches((string)e["type"]!));
        return ListJson(items, e => (string)e["id"]!, e => (JsonObject)e.DeepClone(), p, "/v1/events");
    }
}
