using System.Text.Json.Nodes;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Deployment;

/// <summary>
/// infra/ deploys what the code needs. The expected sets come from the code (options the app binds, storage resources it
/// registers, queues its function.json files name), so adding a setting, table, queue or container without adding it
/// to infra/main.bicep fails here.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class InfraConsistencyTests(AppFixture fixture)
{
    /// <summary>Settings the app reads that Azure deliberately does not set, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotSetInAzure = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["AzureWebJobsStorage"] = "Azure uses the identity form (AzureWebJobsStorage__*ServiceUri + __clientId); the account allows no shared keys.",
        ["AzureWebJobsStorage__accountName"] = "the three service URIs are set instead (either form works).",
        ["LocalHost__FunctionAppRoot"] = "LocalHost is off under the Functions host.",
        ["Stripe__ApiBase"] = "emulator and tests only; Azure talks to api.stripe.com.",
        ["Stripe__EmulatorWebhookUrl"] = "emulator only.",
    };

    [Fact]
    public async Task Every_setting_the_app_reads_is_an_app_setting_of_the_function_app()
    {
        var read = await AppSettingKeys.ReadByAppAsync(fixture);
        var deployed = await Deployment.AppSettingNamesAsync();

        var missing = read.Where(key => !deployed.Contains(key) && !NotSetInAzure.ContainsKey(key)).Order().ToList();

        Assert.True(missing.Count == 0, "infra/main.bicep (appSettings) lacks settings the app reads: " + string.Join(", ", missing) +
            ". Add them there (or, if Azure must not set one, to InfraConsistencyTests.NotSetInAzure with the reason).");
    }

    [Fact]
    public async Task The_derived_setting_names_include_the_known_ones()
    {
        // Guards the derivation itself: if this fails, AppSettingKeys stopped seeing what the app binds.
        var read = await AppSettingKeys.ReadByAppAsync(fixture);

        Assert.Contains("AzureWebJobsStorage", read);
        Assert.Contains("AzureWebJobsStorage__clientId", read);
        Assert.Contains("AzureWebJobsStorage__tableServiceUri", read);
        Assert.Contains("Auth__ApiKeys__*__Sha256", read);
        Assert.Contains("Auth__CorsOrigins__*", read);
        Assert.Contains("Http__MaxRequestBodyBytes", read);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", read);
    }

    [Fact]
    public async Task Flex_Consumption_gets_no_worker_runtime_settings_and_secrets_come_from_Key_Vault()
    {
        var deployed = await Deployment.AppSettingNamesAsync();
        var expression = (string)Deployment.FunctionAppModule(await Deployment.MainTemplateAsync())["properties"]!["parameters"]!["appSettings"]!["value"]!;

        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", deployed);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", deployed);
        Assert.DoesNotContain("AzureWebJobsStorage", deployed);
        Assert.Contains("'Stripe__SecretKey', format('@Microsoft.KeyVault(SecretUri={0})'", expression, StringComparison.Ordinal);
        Assert.Contains("'Auth__CustomerTokenSigningKey', format('@Microsoft.KeyVault(SecretUri={0})'", expression, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_table_queue_and_container_the_app_registers_is_created()
    {
        var registered = fixture.App.Services.GetServices<StorageResource>().Distinct().ToList();
        var tables = await Deployment.ListVariableAsync("storageTables");
        var queues = await Deployment.ListVariableAsync("storageQueues");
        var containers = await Deployment.ListVariableAsync("storageContainers");

        var missing = registered.Where(r => !(r.Kind switch
        {
            StorageResourceKind.Table => tables,
            StorageResourceKind.Queue => queues,
            _ => containers,
        }).Contains(r.Name)).Select(r => $"{r.Kind} {r.Name}").ToList();

        Assert.True(missing.Count == 0, "infra/main.bicep (storageTables/storageQueues/storageContainers) lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task Every_queue_named_in_a_function_json_is_created_with_its_poison_queue()
    {
        var queues = await Deployment.ListVariableAsync("storageQueues");
        var named = Directory.EnumerateFiles(Path.Combine(Deployment.RepositoryRoot, "src", "Billing.Functions", "Functions"), "function.json", SearchOption.AllDirectories)
            .SelectMany(file => JsonNode.Parse(File.ReadAllText(file))!["bindings"]!.AsArray())
            .Select(binding => (string?)binding!["queueName"])
            .OfType<string>()
            .Distinct()
            .ToList();

        Assert.NotEmpty(named);
        foreach (var queue in named)
        {
            Assert.True(queues.Contains(queue), $"infra/main.bicep storageQueues lacks '{queue}' (named in a function.json).");
            Assert.True(queues.Contains(queue + "-poison"), $"infra/main.bicep storageQueues lacks '{queue}-poison'.");
        }
    }

    [Fact]
    public async Task The_storage_module_creates_the_lists_and_locks_the_account_down()
    {
        var storage = Deployment.Module(await Deployment.MainTemplateAsync(), "storage");
        var parameters = storage["properties"]!["parameters"]!;
        Assert.Equal("[variables('storageTables')]", (string?)parameters["tables"]!["value"]);
        Assert.Equal("[variables('storageQueues')]", (string?)parameters["queues"]!["value"]);
        Assert.Equal("[variables('storageContainers')]", (string?)parameters["containers"]!["value"]);

        var resources = storage["properties"]!["template"]!["resources"]!.AsObject().Select(p => p.Value!).ToList();
        var account = resources.Single(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts")["properties"]!;
        Assert.False((bool)account["allowSharedKeyAccess"]!);
        Assert.False((bool)account["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string?)account["minimumTlsVersion"]);
        Assert.True((bool)account["supportsHttpsTrafficOnly"]!);
        foreach (var (type, list) in new[] { ("tableServices/tables", "tables"), ("queueServices/queues", "queues"), ("blobServices/containers", "containers") })
        {
            var loop = resources.Single(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts/" + type)["copy"]!;
            Assert.Contains($"parameters('{list}')", (string)loop["count"]!, StringComparison.Ordinal);
        }
    }
}
