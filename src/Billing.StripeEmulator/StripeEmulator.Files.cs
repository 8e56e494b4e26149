using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Billing.StripeEmulator;

public sealed partial class StripeEmulator
{
    /// <summary>Purposes Stripe accepts for uploads through the API.</summary>
    private static readonly HashSet<string> FilePurposes = new(StringComparer.Ordinal)
    {
        "dispute_evidence", "identity_document", "additional_verification", "business_icon", "business_logo", "customer_signature", "tax_document_user_upload",
    };

    /// <summary>The bytes of an uploaded file (<c>file_…</c>), or null.</summary>
    public byte[]? GetFileContent(string fileId)
    {
        lock (_sync)
        {
            return _files.GetValueOrDefault(fileId)?.Content.ToArray();
        }
    }

    private FileRec RequireFile(string id) =>
        _files.GetValueOrDefault(id) ?? throw StripeApiException.Missing("file", id);

    private JsonObject CreateFile(FormParams p)
    {
        var purpose = p.Get("purpose") ?? throw StripeApiException.InvalidRequest("Missing required param: purpose.", "purpose", "parameter_missing");
        if (!FilePurposes.Contains(purpose))
        {
            throw StripeApiException.InvalidRequest($"Invalid purpose: {purpose}.", "purpose", "parameter_invalid_string");
        }

        var upload = _currentUpload ?? throw StripeApiException.InvalidRequest("Missing required param: file.", "file", "parameter_missing");
        if (upload.Content.Length == 0)
        {
            throw StripeApiException.InvalidRequest("The file is empty.", "file", "parameter_invalid_empty");
        }

        if (purpose == "dispute_evidence" && upload.Content.Length > 5 * 1024 * 1024)
        {
            throw StripeApiException.InvalidRequest("Dispute evidence files must be at most 5 MB.", "file", "file_too_large");
        }

        var f = new FileRec
        {
            Id = Ids.New("file_"),
            Created = NowUnix,
            Seq = ++_seq,
            Purpose = purpose,
            FileName = upload.FileName,
            Type = TypeOf(upload),
            Content = upload.Content,
        };
        _files[f.Id] = f;
        return f.ToJson();
    }

    private static string TypeOf(EmulatorUpload upload) =>
        upload.FileName.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) || upload.ContentType == "application/pdf" ? "pdf"
        : upload.FileName.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "png"
        : upload.FileName.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || upload.FileName.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase) ? "jpg"
        : "unknown";

    /// <summary>Reads a <c>multipart/form-data</c> body (as Stripe.net sends file uploads) into form fields plus the file.</summary>
    private static class Multipart
    {
        public static async Task<EmulatorRequest> ParseAsync(EmulatorRequest request, string contentType, CancellationToken cancellationToken)
        {
            var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(contentType).Boundary).Value
                ?? throw new FormatException("No multipart boundary.");
            var raw = request.RawBody ?? Encoding.UTF8.GetBytes(request.Body);
            var reader = new MultipartReader(boundary, new MemoryStream(raw, writable: false));
            var fields = new List<KeyValuePair<string, string>>();
            EmulatorUpload? upload = null;
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || disposition.Name.Value is not { } name)
                {
                    continue;
                }

                using var buffer = new MemoryStream();
                await section.Body.CopyToAsync(buffer, cancellationToken);
                name = HeaderUtilities.RemoveQuotes(name).Value ?? name;
                var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value;
                if (fileName is not null)
                {
                    upload = new EmulatorUpload(fileName, section.ContentType ?? "application/octet-stream", buffer.ToArray());
                    // The content's hash stands for the file in the idempotency fingerprint.
                    fields.Add(new(name, Convert.ToHexStringLower(SHA256.HashData(upload.Content))));
                }
                else
                {
                    fields.Add(new(name, Encoding.UTF8.GetString(buffer.ToArray())));
                }
            }

            var body = string.Join("&", fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));
            return new EmulatorRequest
            {
                Method = request.Method,
                Path = request.Path,
                Query = request.Query,
                Body = body,
                Headers = request.Headers,
                Upload = upload,
            };
        }
    }
}

internal sealed class FileRec : Resource
{
    public required string Purpose { get; init; }

    public required string FileName { get; init; }

    public required string Type { get; init; }

    public required byte[] Content { get; init; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["object"] = "file",
        ["created"] = Created,
        ["expires_at"] = null,
        ["filename"] = FileName,
        ["links"] = new JsonObject { ["object"] = "list", ["data"] = new JsonArray(), ["has_more"] = false, ["url"] = "/v1/file_links?file=" + Id },
        ["purpose"] = Purpose,
        ["size"] = Content.Length,
        ["title"] = null,
        ["type"] = Type,
        ["url"] = "https://files.stripe.com/v1/files/" + Id + "/contents",
    };
}
