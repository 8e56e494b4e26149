using System.Net;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Billing.Functions.Tests.Deployment;

/// <summary>Download links signed with the account key (connection string path), against Azurite.</summary>
[Collection(AppCollection.Name)]
public sealed class BlobSasFactoryTests(AppFixture fixture)
{
    private readonly StorageClients clients = fixture.App.Services.GetRequiredService<StorageClients>();

    [Fact]
    public async Task A_link_reads_the_blob_and_nothing_else()
    {
        var name = await UploadAsync("%PDF-1.7 invoice");
        var link = await new BlobSasFactory(clients, TimeProvider.System).CreateReadUriAsync("invoices", name, TimeSpan.FromMinutes(5), "INV-0001.pdf");
        using var http = new HttpClient();

        using var read = await http.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("%PDF-1.7 invoice", await read.Content.ReadAsStringAsync());
        Assert.Contains("INV-0001.pdf", read.Content.Headers.ContentDisposition?.ToString() ?? "", StringComparison.Ordinal);

        using var overwrite = new HttpRequestMessage(HttpMethod.Put, link) { Content = new StringContent("forged") };
        overwrite.Headers.Add("x-ms-blob-type", "BlockBlob");
        using var written = await http.SendAsync(overwrite);
        Assert.Equal(HttpStatusCode.Forbidden, written.StatusCode);

        using var other = await http.GetAsync(new Uri(link.ToString().Replace(name, name + "-other", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
    }

    [Fact]
    public async Task An_expired_link_is_refused()
    {
        var name = await UploadAsync("old");
        var twoHoursAgo = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-2));
        var link = await new BlobSasFactory(clients, twoHoursAgo).CreateReadUriAsync("invoices", name, TimeSpan.FromMinutes(30));
        using var http = new HttpClient();

        using var response = await http.GetAsync(link);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Lifetimes_are_bounded()
    {
        var factory = new BlobSasFactory(clients, TimeProvider.System);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => factory.CreateReadUriAsync("invoices", "x.pdf", TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => factory.CreateReadUriAsync("invoices", "x.pdf", TimeSpan.FromDays(2)));
    }

    private async Task<string> UploadAsync(string content)
    {
        var container = clients.Container("invoices");
        await container.CreateIfNotExistsAsync();
        var name = $"sas-test/{Guid.NewGuid():N}.pdf";
        await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content));
        return name;
    }
}
