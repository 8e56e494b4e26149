using System.Text.Json;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Deployment;

/// <summary>local.settings.sample.json shows every setting the app reads (derived as in <see cref="AppSettingKeys"/>), with safe values.</summary>
[Collection(AppCollection.Name)]
public sealed class LocalSettingsSampleTests(AppFixture fixture)
{
    /// <summary>Settings the app reads that a local run does not use, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotInSample = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["AzureWebJobsStorage__accountName"] = "identity-based storage is for Azure; locally AzureWebJobsStorage is a connection string.",
        ["AzureWebJobsStorage__blobServiceUri"] = "identity-based storage is for Azure.",
        ["AzureWebJobsStorage__queueServiceUri"] = "identity-based storage is for Azure.",
        ["AzureWebJobsStorage__tableServiceUri"] = "identity-based storage is for Azure.",
        ["AzureWebJobsStorage__clientId"] = "identity-based storage is for Azure.",
        ["LocalHost__Enabled"] = "defaults to on without a Functions host and off under `func start`; a value would override that.",
        ["LocalHost__FunctionAppRoot"] = "defaults to the build output, which is the function-app root.",
        ["Stripe__ApiBase"] = "only for a port-mode Stripe emulator.",
        ["Stripe__EmulatorWebhookUrl"] = "only when the emulator should post webhooks somewhere else.",
    };

    [Fact]
    public async Task The_sample_lists_every_setting_the_app_reads()
    {
        var read = await AppSettingKeys.ReadByAppAsync(fixture);
        var sample = SampleKeys();

        var missing = read.Where(key => !sample.Contains(key) && !NotInSample.ContainsKey(key)).Order().ToList();

        Assert.True(missing.Count == 0, "local.settings.sample.json lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void The_sample_is_plain_json_without_comments()
    {
        var text = File.ReadAllText(Path.Combine(Deployment.RepositoryRoot, "local.settings.sample.json"));

        using var document = JsonDocument.Parse(text); // strict: comments or trailing commas throw
        Assert.False(document.RootElement.GetProperty("IsEncrypted").GetBoolean());
        Assert.Equal(JsonValueKind.Object, document.RootElement.GetProperty("Values").ValueKind);
    }

    private static HashSet<string> SampleKeys()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deployment.RepositoryRoot, "local.settings.sample.json")));
        return document.RootElement.GetProperty("Values").EnumerateObject().Select(p => Deployment.Normalize(p.Name)).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }
}
