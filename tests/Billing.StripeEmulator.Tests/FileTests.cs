using System.Text;
using Stripe;

namespace Billing.StripeEmulator.Tests;

public sealed class FileTests
{
    private static readonly byte[] Pdf = [.. Encoding.ASCII.GetBytes("%PDF-1.7\n"), 0x00, 0xFF, 0x80, 0x7F, .. Encoding.ASCII.GetBytes("\n%%EOF\n")];

    [Fact]
    public async Task A_multipart_upload_keeps_the_bytes_and_can_be_attached_as_dispute_evidence()
    {
        await using var h = new Harness();
        using var data = new MemoryStream(Pdf);

        var file = await new FileService(h.Client).CreateAsync(new FileCreateOptions
        {
            File = new MultipartFileContent { Data = data, Name = "in_123.pdf", Type = "application/pdf" },
            Purpose = "dispute_evidence",
        });

        Assert.StartsWith("file_", file.Id, StringComparison.Ordinal);
        Assert.Equal("dispute_evidence", file.Purpose);
        Assert.Equal("pdf", file.Type);
        Assert.Equal(Pdf.Length, file.Size);
        Assert.Equal(Pdf, h.Emulator.GetFileContent(file.Id));
        Assert.Equal(file.Id, (await new FileService(h.Client).GetAsync(file.Id)).Id);

        var pi = await h.ChargeAsync(null, "pm_card_createDispute", 1000);
        var dispute = Assert.Single((await h.Disputes.ListAsync(new DisputeListOptions { PaymentIntent = pi.Id })).Data);
        var updated = await h.Disputes.UpdateAsync(dispute.Id, new DisputeUpdateOptions { Evidence = new DisputeEvidenceOptions { Receipt = file.Id }, Submit = false });
        Assert.Equal(file.Id, updated.Evidence.ReceiptId);

        var missing = await Assert.ThrowsAsync<StripeException>(() =>
            h.Disputes.UpdateAsync(dispute.Id, new DisputeUpdateOptions { Evidence = new DisputeEvidenceOptions { Receipt = "file_doesnotexist" }, Submit = false }));
        Assert.Equal("resource_missing", missing.StripeError.Code);
    }

    [Fact]
    public async Task An_upload_without_a_file_or_with_an_unknown_purpose_is_refused_and_the_same_key_replays_the_same_file()
    {
        await using var h = new Harness();
        var files = new FileService(h.Client);

        using (var data = new MemoryStream(Pdf))
        {
            var badPurpose = await Assert.ThrowsAsync<StripeException>(() => files.CreateAsync(new FileCreateOptions { File = new MultipartFileContent { Data = data, Name = "a.pdf" }, Purpose = "selfie" }));
            Assert.Equal("purpose", badPurpose.StripeError.Param);
        }

        var noFile = await Assert.ThrowsAsync<StripeException>(() => files.CreateAsync(new FileCreateOptions { Purpose = "dispute_evidence" }));
        Assert.Equal(400, (int)noFile.HttpStatusCode);

        using var first = new MemoryStream(Pdf);
        using var second = new MemoryStream(Pdf);
        var a = await files.CreateAsync(new FileCreateOptions { File = new MultipartFileContent { Data = first, Name = "a.pdf" }, Purpose = "dispute_evidence" }, new RequestOptions { IdempotencyKey = "upload-1" });
        var b = await files.CreateAsync(new FileCreateOptions { File = new MultipartFileContent { Data = second, Name = "a.pdf" }, Purpose = "dispute_evidence" }, new RequestOptions { IdempotencyKey = "upload-1" });
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(1, h.Emulator.Count("file"));
    }
}
