using System.Text.Json;
using System.Text.Json.Serialization;
using Billing.Domain;

namespace Billing.Functions.Storage;

/// <summary>How domain records are written into table rows: snake_case JSON, enums as strings, money as minor units.</summary>
public static class StorageJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.Converters.Add(new CurrencyJsonConverter());
        options.Converters.Add(new MoneyJsonConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>A currency as its ISO code.</summary>
public sealed class CurrencyJsonConverter : JsonConverter<Currency>
{
    public override Currency Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Currency.TryFromCode(reader.GetString(), out var currency) ? currency : throw new JsonException("Unsupported currency.");

    public override void Write(Utf8JsonWriter writer, Currency value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.Code);
    }
}

/// <summary>Money as <c>{"amount": minor units, "currency": "USD"}</c>.</summary>
public sealed class MoneyJsonConverter : JsonConverter<Money>
{
    public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        long? amount = null;
        string? code = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Money must be an object.");
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "amount")
            {
                amount = reader.GetInt64();
            }
            else if (name == "currency")
            {
                code = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return amount is { } a && Currency.TryFromCode(code, out var currency) ? new Money(a, currency) : throw new JsonException("Money needs amount and currency.");
    }

    public override void Write(Utf8JsonWriter writer, Money value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteNumber("amount", value.MinorUnits);
        writer.WriteString("currency", value.Currency.Code);
        writer.WriteEndObject();
    }
}
