using System.Text.Json.Nodes;

namespace Billing.Functions.Tests.Hardening;

/// <summary>The parts of the app's OpenAPI document the bad-input corpus reads: request body schemas and list responses.</summary>
public sealed class OpenApiDocument(JsonNode document)
{
    /// <summary>The kind of a schema, as far as mutations care.</summary>
    public enum Kind
    {
        Any,
        String,
        Enum,
        DateTime,
        Integer,
        Int32,
        Number,
        Boolean,
        Array,
        Object,
        Dictionary,
    }

    public JsonObject? Operation(ApiEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return document["paths"]?[endpoint.Pattern]?[endpoint.Method.ToLowerInvariant()] as JsonObject;
    }

    /// <summary>The JSON request body schema (resolved), or null when the document has none for the endpoint.</summary>
    public JsonObject? RequestSchema(ApiEndpoint endpoint) => Resolve(Operation(endpoint)?["requestBody"]?["content"]?["application/json"]?["schema"]);

    /// <summary>True when the body may be left out (<c>T? body</c> in the handler): the document writes it as <c>oneOf: [null, T]</c>.</summary>
    public bool BodyIsOptional(ApiEndpoint endpoint) => IsNullable(Operation(endpoint)?["requestBody"]?["content"]?["application/json"]?["schema"]);

    /// <summary>True when the 200 answer is a list page (<c>has_more</c>), i.e. it takes <c>limit</c> and <c>starting_after</c>.</summary>
    public bool IsList(ApiEndpoint endpoint) =>
        Resolve(Operation(endpoint)?["responses"]?["200"]?["content"]?["application/json"]?["schema"])?["properties"]?["has_more"] is not null;

    /// <summary>Follows <c>$ref</c> and strips <c>oneOf: [{type: null}, X]</c> down to X.</summary>
    public JsonObject? Resolve(JsonNode? schema)
    {
        for (var depth = 0; depth < 16 && schema is JsonObject node; depth++)
        {
            if (node["$ref"]?.GetValue<string>() is { } reference)
            {
                schema = document["components"]?["schemas"]?[reference.Split('/')[^1]];
                continue;
            }

            if ((node["oneOf"] ?? node["anyOf"]) is JsonArray choices && choices.Where(c => !IsNullType(c)).ToList() is [var only])
            {
                schema = only;
                continue;
            }

            return node;
        }

        return null;
    }

    public IReadOnlyList<(string Name, JsonObject? Schema)> Properties(JsonObject? schema) =>
        schema?["properties"] is JsonObject properties ? [.. properties.Select(p => (p.Key, Resolve(p.Value)))] : [];

    /// <summary>
    /// Required properties that cannot be null. The document lists every constructor parameter of a positional record
    /// as required, nullable or not; only a non-nullable one is really required on the wire.
    /// </summary>
    public static IReadOnlyList<string> Required(JsonObject? schema) =>
        schema?["required"] is JsonArray required
            ? [.. required.Select(r => r!.GetValue<string>()).Where(name => !IsNullable(schema["properties"]?[name]) && !IsTypeNullable(schema["properties"]?[name]))]
            : [];

    private static bool IsTypeNullable(JsonNode? schema) => schema?["type"] is JsonArray types && types.Any(t => t!.GetValue<string>() == "null");

    public static Kind KindOf(JsonObject? schema)
    {
        if (schema is null)
        {
            return Kind.Any;
        }

        if (schema["enum"] is not null)
        {
            return Kind.Enum;
        }

        var types = schema["type"] switch
        {
            JsonArray many => many.Select(t => t!.GetValue<string>()).Where(t => t != "null").ToList(),
            JsonValue one => [one.GetValue<string>()],
            _ => [],
        };
        return types switch
        {
            _ when types.Contains("integer") => schema["format"]?.GetValue<string>() == "int32" ? Kind.Int32 : Kind.Integer,
            _ when types.Contains("number") => Kind.Number,
            _ when types.Contains("boolean") => Kind.Boolean,
            _ when types.Contains("array") => Kind.Array,
            _ when types.Contains("object") || schema["properties"] is not null => schema["additionalProperties"] is JsonObject ? Kind.Dictionary : Kind.Object,
            _ when types.Contains("string") => schema["format"]?.GetValue<string>() == "date-time" ? Kind.DateTime : Kind.String,
            _ => Kind.Any,
        };
    }

    private static bool IsNullable(JsonNode? schema) =>
        schema is JsonObject node && (((node["oneOf"] ?? node["anyOf"]) is JsonArray choices && choices.Any(IsNullType)) || IsNullType(node));

    private static bool IsNullType(JsonNode? schema) => schema?["type"] switch
    {
        JsonValue one => one.GetValue<string>() == "null",
        JsonArray many => many.Any(t => t!.GetValue<string>() == "null") && many.Count == 1,
        _ => false,
    };
}
