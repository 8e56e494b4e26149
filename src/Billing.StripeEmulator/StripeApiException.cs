using System.Text.Json.Nodes;

namespace Billing.StripeEmulator;

/// <summary>A Stripe API error raised inside the emulator and rendered as Stripe's error JSON.</summary>
public sealed class StripeApiException : Exception
{
    public StripeApiException(int statusCode, string type, string message, string? code = null, string? param = null)
        : base(message)
    {
        StatusCode = statusCode;
        Type = type;
        Code = code;
        Param = param;
    }

    public StripeApiException()
        : this(500, "api_error", "An unknown error occurred")
    {
    }

    public StripeApiException(string message)
        : this(400, "invalid_request_error", message)
    {
    }

    public StripeApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = 500;
        Type = "api_error";
    }

    /// <summary>HTTP status to answer with.</summary>
    public int StatusCode { get; }

    /// <summary>Stripe error type (<c>card_error</c>, <c>invalid_request_error</c>, ...).</summary>
    public string Type { get; }

    /// <summary>Stripe error code.</summary>
    public string? Code { get; }

    /// <summary>The parameter at fault.</summary>
    public string? Param { get; }

    /// <summary>Card decline code.</summary>
    public string? DeclineCode { get; init; }

    /// <summary>Advice code for declines.</summary>
    public string? AdviceCode { get; init; }

    /// <summary>The PaymentIntent to embed in the error.</summary>
    public JsonObject? PaymentIntent { get; init; }

    /// <summary>The SetupIntent to embed in the error.</summary>
    public JsonObject? SetupIntent { get; init; }

    /// <summary>The PaymentMethod to embed in the error.</summary>
    public JsonObject? PaymentMethod { get; init; }

    /// <summary>Charge id for card errors.</summary>
    public string? ChargeId { get; init; }

    /// <summary>True when the error came from parameter validation before the operation ran (not saved for idempotency).</summary>
    public bool IsValidation { get; init; }

    internal static StripeApiException InvalidRequest(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", message, code, param) { IsValidation = true };

    internal static StripeApiException Missing(string kind, string id, string param = "id") =>
        new(404, "invalid_request_error", $"No such {kind}: '{id}'", "resource_missing", param);

    internal static StripeApiException UnexpectedState(string message, JsonObject? paymentIntent = null) =>
        new(400, "invalid_request_error", message, "payment_intent_unexpected_state") { PaymentIntent = paymentIntent };

    /// <summary>Renders <c>{"error":{...}}</c>.</summary>
    public JsonObject ToJson()
    {
        var error = new JsonObject();
        if (AdviceCode is not null)
        {
            error["advice_code"] = AdviceCode;
        }

        if (ChargeId is not null)
        {
            error["charge"] = ChargeId;
        }

        if (Code is not null)
        {
            error["code"] = Code;
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + Code.Replace('_', '-');
        }

        if (DeclineCode is not null)
        {
            error["decline_code"] = DeclineCode;
        }

        error["message"] = Message;
        if (Param is not null)
        {
            error["param"] = Param;
        }

        if (PaymentIntent is not null)
        {
            error["payment_intent"] = PaymentIntent.DeepClone();
        }

        if (PaymentMethod is not null)
        {
            error["payment_method"] = PaymentMethod.DeepClone();
        }

        if (SetupIntent is not null)
        {
            error["setup_intent"] = SetupIntent.DeepClone();
        }

        error["request_log_url"] = null;
        error["type"] = Type;
        return new JsonObject { ["error"] = error };
    }
}
