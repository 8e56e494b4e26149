using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using static Billing.Functions.Tests.Hardening.OpenApiDocument;

namespace Billing.Functions.Tests.Hardening;

/// <summary>How many mutations per endpoint: the short corpus runs every time, the long one on request.</summary>
public enum CorpusDepth
{
    Short,
    Long,
}

/// <summary>A real target for one endpoint: route values, its path, and a valid body (or null when it takes none).</summary>
public sealed record PreparedEndpoint(ApiEndpoint Endpoint, IReadOnlyDictionary<string, string> Values, string Path, JsonObject? Body, IReadOnlyList<string> Required);

/// <summary>One bad request: what is wrong with it, where it goes and its body (made fresh for each send).</summary>
public sealed record BadRequest(ApiEndpoint Endpoint, string Label, string Path, Func<HttpContent?> Content);

/// <summary>
/// Generates bad requests from the OpenAPI document (request body schemas, list responses) and the route table:
/// wrong JSON types per property, missing required fields, unknown fields, out-of-range numbers, bad currencies,
/// malformed JSON, invalid UTF-8, oversized bodies, wrong content types, garbage ids in the path and bad paging queries.
/// </summary>
public static class BadInputCorpus
{
    private const string RawMarker = "@@hardening-raw@@";

    public static IReadOnlyList<BadRequest> Build(IEnumerable<PreparedEndpoint> endpoints, OpenApiDocument document, CorpusDepth depth)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(document);
        var prepared = endpoints.ToList();
        var otherIds = prepared.SelectMany(p => p.Values.Where(v => v.Key != RouteTargets.Query).Select(v => v.Value)).Where(v => v.Contains('_', StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        var cases = new List<BadRequest>();
        foreach (var target in prepared)
        {
            var endpoint = target.Endpoint;
            if (target.Body is { } body)
            {
                var schema = document.RequestSchema(endpoint);
                var json = body.ToJsonString();
                cases.AddRange(BodyMutations(body, schema, document, target.Required, depth, "")
                    .Select(m => new BadRequest(endpoint, m.Label, target.Path, () => Content(m.Json))));
                cases.AddRange(RawBodies(body, document.BodyIsOptional(endpoint), depth)
                    .Select(m => new BadRequest(endpoint, m.Label, target.Path, m.Content)));
            }

            foreach (var parameter in endpoint.Parameters)
            {
                var real = target.Values[parameter];
                foreach (var (label, raw) in GarbageIds(real, otherIds, depth))
                {
                    var path = endpoint.PathFor(target.Values, parameter, raw);
                    cases.Add(new BadRequest(endpoint, $"{{{parameter}}} = {label}", path, () => target.Body is null ? null : Content(target.Body.ToJsonString())));
                }
            }

            if (endpoint.Method == "GET" && document.IsList(endpoint) && !RouteTargets.Unpaged.ContainsKey(endpoint.Key))
            {
                cases.AddRange(BadQueries(depth).Where(q => !(q == "starting_after=garbage" && RouteTargets.FreeFormCursors.Contains(endpoint.Key))).Select(q => new BadRequest(endpoint, "?" + q, target.Path + (target.Path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + q, () => null)));
            }
        }

        return cases;
    }

    /// <summary>The endpoints the corpus attacks: everything that changes state, and GETs that take ids or paging queries.</summary>
    public static bool Covers(ApiEndpoint endpoint, OpenApiDocument document)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(document);
        return endpoint.IsMutating || endpoint.Parameters.Count > 0 || document.IsList(endpoint);
    }

    private static HttpContent Content(string json, string mediaType = "application/json") => Bytes(Encoding.UTF8.GetBytes(json), mediaType);

    private static ByteArrayContent Bytes(byte[] bytes, string? mediaType)
    {
        var content = new ByteArrayContent(bytes);
        if (mediaType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        return content;
    }

    /// <summary>One mutation of a valid body per line: each leaves everything else valid, so each tests one thing.</summary>
    private static IEnumerable<(string Label, string Json)> BodyMutations(JsonObject body, JsonObject? schema, OpenApiDocument document, IReadOnlyList<string> required, CorpusDepth depth, string prefix)
    {
        var properties = document.Properties(schema).ToDictionary(p => p.Name, p => p.Schema, StringComparer.Ordinal);
        foreach (var name in body.Select(p => p.Key))
        {
            properties.TryAdd(name, null);
        }

        foreach (var (name, propertySchema) in properties)
        {
            var kind = propertySchema is null ? Infer(body[name]) : KindOf(propertySchema);
            foreach (var (label, raw) in WrongValues(name, kind, depth))
            {
                yield return ($"{prefix}{name} = {label}", With(body, name, raw));
            }

            if (depth == CorpusDepth.Long && kind == Kind.Object && body[name] is JsonObject nested)
            {
                foreach (var (label, json) in BodyMutations(nested, propertySchema, document, [], depth, prefix + name + "."))
                {
                    yield return (label, With(body, name, json));
                }
            }
        }

        foreach (var name in required.Concat(Required(schema)).Distinct(StringComparer.Ordinal).Where(body.ContainsKey))
        {
            var without = (JsonObject)body.DeepClone();
            without.Remove(name);
            yield return ($"{prefix}{name} missing (required)", without.ToJsonString());
        }

        yield return ($"{prefix}unknown field", With(body, "hardening_unknown_field", "true"));
    }

    /// <summary>The body with <paramref name="name"/> set to the raw JSON text <paramref name="raw"/> (which may be invalid JSON on purpose, e.g. 1e400).</summary>
    private static string With(JsonObject body, string name, string raw)
    {
        var copy = (JsonObject)body.DeepClone();
        copy[name] = RawMarker;
        return copy.ToJsonString().Replace($"\"{RawMarker}\"", raw, StringComparison.Ordinal);
    }

    private static Kind Infer(JsonNode? value) => value switch
    {
        JsonObject => Kind.Object,
        JsonArray => Kind.Array,
        JsonValue v when v.TryGetValue<string>(out _) => Kind.String,
        JsonValue v when v.TryGetValue<bool>(out _) => Kind.Boolean,
        JsonValue v when v.TryGetValue<long>(out _) => Kind.Integer,
        JsonValue => Kind.Number,
        _ => Kind.Any,
    };

    private static IEnumerable<(string Label, string Raw)> WrongValues(string name, Kind kind, CorpusDepth depth)
    {
        var longRun = depth == CorpusDepth.Long;
        IEnumerable<string> values = kind switch
        {
            Kind.String or Kind.Enum when name.Contains("currency", StringComparison.Ordinal) =>
                longRun ? ["123", "\"zzz\"", "\"US\"", "\"usdollar\"", "\"ＵＳＤ\"", "\"u d\"", "\"us\\u0000\"", "[]"] : ["123", "\"zzz\"", "\"US\""],
            Kind.String => longRun ? ["123", "true", "{}", "[]", "\"" + new string('x', 100_000) + "\""] : ["123"],
            Kind.Enum => longRun ? ["\"not_a_real_value\"", "1", "\"\"", "[]"] : ["\"not_a_real_value\""],
            Kind.DateTime => longRun ? ["\"not-a-date\"", "\"2026-13-45T00:00:00Z\"", "1767225600", "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00Z\"", "true"] : ["\"not-a-date\""],
            Kind.Integer => longRun
                ? ["\"abc\"", "9223372036854775808", "-1", "1e400", "true", "1.5", "{}", "[]", "-9223372036854775809", "\"\"", "-0.0000001"]
                : ["\"abc\"", "9223372036854775808", "-1", "1e400"],
            Kind.Int32 => longRun ? ["\"abc\"", "2147483648", "-1", "1e400", "true", "1.5", "{}", "[]", "\"\""] : ["\"abc\"", "2147483648", "-1"],
            Kind.Number => longRun ? ["\"abc\"", "-1", "1e400", "true", "{}", "[]"] : ["\"abc\"", "-1", "1e400"],
            Kind.Boolean => longRun ? ["\"yes\"", "1", "\"true\"", "{}", "[]"] : ["\"yes\""],
            Kind.Array => longRun ? ["\"not-an-array\"", "[null]", "{}", "1", "[1,2,3]", "[[[]]]"] : ["\"not-an-array\"", "[null]"],
            Kind.Object => longRun ? ["\"not-an-object\"", "[]", "1"] : ["\"not-an-object\""],
            Kind.Dictionary => longRun ? ["\"not-an-object\"", "[]", "{\"k\":1}", "{\"k\":{}}"] : ["\"not-an-object\""],
            _ => [],
        };
        return values.Select(v => (v.Length > 40 ? v[..20] + $"…({v.Length} chars)" : v, v));
    }

    private static IEnumerable<(string Label, Func<HttpContent?> Content)> RawBodies(JsonObject body, bool bodyIsOptional, CorpusDepth depth)
    {
        var json = body.ToJsonString();
        var stringProperty = body.FirstOrDefault(p => p.Value is JsonValue v && v.TryGetValue<string>(out _)).Key ?? "name";
        yield return ("malformed JSON (truncated)", () => Content(json[..(json.Length / 2)]));
        yield return ("malformed JSON (trailing brace)", () => Content(json + "}"));
        yield return ("a JSON array instead of an object", () => Content("[" + json + "]"));
        yield return ("invalid UTF-8 in a string", () => Bytes([.. Encoding.UTF8.GetBytes($"{{\"{stringProperty}\":\""), 0xFF, 0xFE, 0xC3, .. "\"}"u8], "application/json"));
        yield return ("oversized body (300 KiB, Content-Length)", () => Content(With(body, "hardening_padding", "\"" + new string('a', 300 * 1024) + "\"")));
        yield return ("text/plain content type", () => Content(json, "text/plain"));
        yield return ("form content type", () => new FormUrlEncodedContent([new("name", "x")]));
        if (!bodyIsOptional)
        {
            yield return ("empty body", () => Content(""));
            yield return ("JSON null body", () => Content("null"));
        }

        if (depth == CorpusDepth.Short)
        {
            yield break;
        }

        yield return ("single-quoted JSON", () => Content(json.Replace('"', '\'')));
        yield return ("trailing comma", () => Content(json.TrimEnd('}') + ",}"));
        yield return ("NaN literal", () => Content(With(body, stringProperty, "NaN")));
        yield return ("a JSON string instead of an object", () => Content("\"" + stringProperty + "\""));
        yield return ("a JSON number instead of an object", () => Content("123"));
        yield return ("comment in JSON", () => Content("/* c */" + json));
        yield return ("2000-deep nesting", () => Content(With(body, "hardening_deep", new string('[', 2000) + new string(']', 2000))));
        yield return ("lone surrogate escape", () => Content(With(body, stringProperty, "\"\\ud800\"")));
        yield return ("no content type", () => Bytes(Encoding.UTF8.GetBytes(json), null));
        yield return ("application/xml content type", () => Content("<customer><name>x</name></customer>", "application/xml"));
        yield return ("oversized body (300 KiB, chunked)", () => new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(With(body, "hardening_padding", "\"" + new string('a', 300 * 1024) + "\"")))) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } });
    }

    /// <summary>Ids a caller might try: traversal, encodings, huge, unicode, injection, and (long) real ids of other kinds.</summary>
    private static IEnumerable<(string Label, string Raw)> GarbageIds(string real, IEnumerable<string> otherIds, CorpusDepth depth)
    {
        yield return ("../../etc/passwd (escaped)", Uri.EscapeDataString("../../etc/passwd"));
        // Not a bare "%2e%2e": clients and Kestrel resolve that dot segment, which turns e.g. DELETE …/payment-methods/%2e%2e
        // into a valid DELETE of the parent resource. Inside one segment (slashes encoded) it must stay a bad id.
        yield return ("%2e%2e%2f… (raw, mixed encoding)", "%2e%2e%2f%2e%2e%2fetc%2fpasswd");
        yield return ("300 characters", new string('a', 300));
        yield return ("unicode", Uri.EscapeDataString("ünïcødé_😀"));
        yield return ("quote injection", Uri.EscapeDataString("x' or ''='"));
        var cut = real.IndexOf('_', StringComparison.Ordinal) + 1;
        yield return ("a well-formed id that does not exist", real[..cut] + new string('0', real.Length - cut));
        if (depth == CorpusDepth.Short)
        {
            yield break;
        }

        yield return ("%2F", "a%2Fb");
        yield return ("backslash", "a%5Cb");
        yield return ("#", "a%23b");
        yield return ("?", "a%3Fb");
        yield return ("null", "null");
        yield return ("0", "0");
        yield return ("-1", "-1");
        yield return ("prefix only", real.Split('_')[0] + "_");
        yield return ("upper-cased real id", Uri.EscapeDataString(real.ToUpperInvariant()));
        yield return ("real id with a trailing space", Uri.EscapeDataString(real + " "));
        yield return ("real id with a control character", Uri.EscapeDataString(real + "\u0001"));
        yield return ("5000 characters", new string('b', 5000));
        foreach (var other in otherIds.Where(o => o.Split('_')[0] != real.Split('_')[0]).DistinctBy(o => o.Split('_')[0]))
        {
            yield return ($"an existing id of another kind ({other.Split('_')[0]}_…)", Uri.EscapeDataString(other));
        }
    }

    private static IEnumerable<string> BadQueries(CorpusDepth depth)
    {
        string[] basic = ["limit=-1", "limit=abc", "limit=0", "limit=101", "starting_after=garbage", "starting_after=..%2F..%2Fetc%2Fpasswd"];
        return depth == CorpusDepth.Short ? basic :
        [
            .. basic, "limit=1e400", "limit=99999999999999999999", "limit=", "limit=1&limit=2", "limit=%00", "limit=%EF%BC%91",
            "starting_after=" + new string('a', 300), "starting_after=%27%20or%20%27%27%3D%27", "starting_after=%C3%BCn%C3%AF", "starting_after=",
        ];
    }
}
