using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;

namespace Billing.Functions.Storage;

/// <summary>
/// Short-lived, read-only download links for blobs (invoice PDFs: <c>GET /api/invoices/{id}/pdf</c> can redirect to one).
/// With a connection string (locally, tests) the SAS is signed with the account key; in Azure, where the account
/// allows no shared keys, it is a user-delegation SAS signed with a key obtained by the managed identity (which has
/// Storage Blob Data Owner). Delegation keys are cached and reused while they outlive the link.
/// </summary>
public sealed class BlobSasFactory(StorageClients clients, TimeProvider clock)
{
    /// <summary>Longest link lifetime: user-delegation keys live at most 7 days; links should live minutes.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(1);

    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(2);
    private readonly SemaphoreSlim keyGate = new(1, 1);
    private UserDelegationKey? delegationKey;

    /// <summary>
    /// A URL that can read <paramref name="blobName"/> in <paramref name="container"/> (a logical name; the storage prefix
    /// is applied) until <paramref name="lifetime"/> from now, and nothing else. <paramref name="downloadFileName"/> sets
    /// the Content-Disposition of the response.
    /// </summary>
    public async Task<Uri> CreateReadUriAsync(string container, string blobName, TimeSpan lifetime, string? downloadFileName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentException.ThrowIfNullOrWhiteSpace(blobName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lifetime, MaxLifetime);

        var blob = clients.Container(container).GetBlobClient(blobName);
        var now = clock.GetUtcNow();
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, now + lifetime)
        {
            BlobContainerName = blob.BlobContainerName,
            BlobName = blob.Name,
            Resource = "b",
            StartsOn = now - ClockSkew,
        };
        if (downloadFileName is not null)
        {
            sas.ContentDisposition = $"attachment; filename=\"{downloadFileName.Replace("\"", "", StringComparison.Ordinal)}\"";
        }

        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(sas); // shared key from the connection string
        }

        sas.Protocol = SasProtocol.Https;
        var key = await GetDelegationKeyAsync(now, now + lifetime, cancellationToken);
        return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key, clients.Blobs.AccountName) }.ToUri();
    }

    private async Task<UserDelegationKey> GetDelegationKeyAsync(DateTimeOffset now, DateTimeOffset linkExpiry, CancellationToken cancellationToken)
    {
        await keyGate.WaitAsync(cancellationToken);
        try
        {
            if (delegationKey is null || delegationKey.SignedExpiresOn < linkExpiry || delegationKey.SignedStartsOn > now)
            {
                delegationKey = (await clients.Blobs.GetUserDelegationKeyAsync(now - ClockSkew, now + KeyLifetime, cancellationToken)).Value;
            }

            return delegationKey;
        }
        finally
        {
            keyGate.Release();
        }
    }
}
