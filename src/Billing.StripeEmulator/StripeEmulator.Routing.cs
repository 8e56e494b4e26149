using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

public sealed partial class StripeEmulator
{
    private JsonObject Route(string method, string path, FormParams p)
    {
        var seg = path.Trim('/').Split('/');
        if (seg.Length < 2 || seg[0] != "v1")
        {
            throw NotFoundRoute(method, path);
        }

        var resource = seg[1];
        var id = seg.Length > 2 ? seg[2] : null;
        var action = seg.Length > 3 ? seg[3] : null;
        if (seg.Length > 4)
        {
            throw NotFoundRoute(method, path);
        }

        return (method, resource, id, action) switch
        {
            ("POST", "customers", null, null) => CreateCustomer(p),
            ("GET", "customers", not null, null) => RequireCustomer(id, allowDeleted: true).ToJson(),
            ("POST", "customers", not null, null) => UpdateCustomer(id, p),
            ("DELETE", "customers", not null, null) => DeleteCustomer(id),
            ("GET", "customers", not null, "payment_methods") => ListPaymentMethods(id, p, $"/v1/customers/{id}/payment_methods"),

            ("GET", "payment_methods", null, null) => ListPaymentMethods(
                p.Get("customer") ?? throw StripeApiException.InvalidRequest("Missing required param: customer.", "customer", "parameter_missing"),
                p,
                "/v1/payment_methods"),
            ("GET", "payment_methods", not null, null) => ResolvePaymentMethod(id, "id").ToJson(),
            ("POST", "payment_methods", not null, null) => UpdatePaymentMethod(id, p),
            ("POST", "payment_methods", not null, "attach") => AttachPaymentMethod(id, p),
            ("POST", "payment_methods", not null, "detach") => DetachPaymentMethod(id),

            ("POST", "setup_intents", null, null) => CreateSetupIntent(p),
            ("GET", "setup_intents", not null, null) => RequireSetupIntent(id).ToJson(),
            ("POST", "setup_intents", not null, null) => UpdateSetupIntent(id, p),
            ("POST", "setup_intents", not null, "confirm") => ConfirmSetupIntent(RequireSetupIntent(id), p),
            ("POST", "setup_intents", not null, "cancel") => CancelSetupIntent(id, p),

            ("POST", "payment_intents", null, null) => CreatePaymentIntent(p),
            ("GET", "payment_intents", null, null) => ListPaymentIntents(p),
            ("GET", "payment_intents", not null, null) => RequirePaymentIntent(id).ToJson(),
            ("POST", "payment_intents", not null, null) => UpdatePaymentIntent(id, p),
            ("POST", "payment_intents", not null, "confirm") => ConfirmPaymentIntent(RequirePaymentIntent(id), p),
            ("POST", "payment_intents", not null, "capture") => CapturePaymentIntent(id, p),
            ("POST", "payment_intents", not null, "cancel") => CancelPaymentIntent(id, p),

            ("GET", "charges", null, null) => ListCharges(p),
            ("GET", "charges", not null, null) => RequireCharge(id).ToJson(),

            ("POST", "refunds", null, null) => CreateRefund(p),
            ("GET", "refunds", null, null) => ListRefunds(p),
            ("GET", "refunds", not null, null) => RequireRefund(id).ToJson(),
            ("POST", "refunds", not null, null) => UpdateRefund(id, p),

            ("GET", "disputes", null, null) => ListDisputes(p),
            ("GET", "disputes", not null, null) => RequireDispute(id).ToJson(NowUnix),
            ("POST", "disputes", not null, null) => UpdateDispute(id, p),
            ("POST", "disputes", not null, "close") => CloseDisputeByApi(id),

            ("POST", "files", null, null) => CreateFile(p),
            ("GET", "files", not null, null) => RequireFile(id).ToJson(),

            ("GET", "events", null, null) => ListEvents(p),
            ("GET", "events", not null, null) => (JsonObject)(_eventsById.GetValueOrDefault(id) ?? throw StripeApiException.Missing("event", id)).DeepClone(),

            _ => throw NotFoundRoute(method, path),
        };
    }

    private static StripeApiException NotFoundRoute(string method, string path) =>
        new(404, "invalid_request_error", $"Unrecognized request URL ({method}: {path}). The Stripe emulator does not implement this endpoint.");

    private JsonObject? LookupJson(string id)
    {
        var prefix = id[..(id.IndexOf('_', StringComparison.Ordinal) + 1)];
        return prefix switch
        {
            "cus_" => _customers.GetValueOrDefault(id)?.ToJson(),
            "pm_" => _paymentMethods.GetValueOrDefault(id)?.ToJson(),
            "seti_" => _setupIntents.GetValueOrDefault(id)?.ToJson(),
            "pi_" => _paymentIntents.GetValueOrDefault(id)?.ToJson(),
            "ch_" => _charges.GetValueOrDefault(id)?.ToJson(),
            "re_" => _refunds.GetValueOrDefault(id)?.ToJson(),
            "du_" => _disputes.GetValueOrDefault(id)?.ToJson(NowUnix),
            "file_" => _files.GetValueOrDefault(id)?.ToJson(),
            "evt_" => _eventsById.GetValueOrDefault(id)?.DeepClone() as JsonObject,
            _ => null,
        };
    }

    private void ApplyExpand(JsonObject json, FormParams p)
    {
        foreach (var path in p.GetList("expand"))
        {
            ExpandPath(json, path.Split('.'), 0);
        }
    }

    private void ExpandPath(JsonNode? node, string[] parts, int index)
    {
        if (node is not JsonObject obj || index >= parts.Length)
        {
            return;
        }

        var key = parts[index];
        var child = obj[key];
        if (child is JsonValue v && v.TryGetValue<string>(out var refId) && LookupJson(refId) is { } expanded)
        {
            obj[key] = expanded;
            child = expanded;
        }

        if (index + 1 >= parts.Length)
        {
            return;
        }

        if (child is JsonArray arr)
        {
            for (var i = 0; i < arr.Count; i++)
            {
                ExpandPath(arr[i], parts, index + 1);
            }
        }
        else
        {
            ExpandPath(child, parts, index + 1);
        }
    }

    private static JsonObject ListJson<T>(IEnumerable<T> items, Func<T, string> idOf, Func<T, JsonObject> toJson, FormParams p, string url)
    {
        var limit = (int)Math.Clamp(p.GetLong("limit") ?? 10, 1, 100);
        var all = items.ToList();
        var startingAfter = p.Get("starting_after");
        var endingBefore = p.Get("ending_before");
        IEnumerable<T> window = all;
        if (startingAfter is not null)
        {
            var i = all.FindIndex(x => idOf(x) == startingAfter);
            window = i < 0 ? [] : all.Skip(i + 1);
        }
        else if (endingBefore is not null)
        {
            var i = all.FindIndex(x => idOf(x) == endingBefore);
            window = i < 0 ? [] : all.Take(i).TakeLast(limit);
        }

        var list = window.ToList();
        var data = new JsonArray();
        foreach (var x in list.Take(limit))
        {
            data.Add(toJson(x));
        }

        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["has_more"] = list.Count > limit,
            ["url"] = url,
        };
    }
}
