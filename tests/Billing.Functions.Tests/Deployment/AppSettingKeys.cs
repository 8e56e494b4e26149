using System.Collections.Concurrent;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Tests.Deployment;

/// <summary>
/// The settings the app reads, derived from the real app rather than listed by hand: starts the app with a recording
/// configuration provider, finds every options type of a <c>Billing.*</c> assembly registered in its service
/// collection (<c>AddOptions&lt;T&gt;().Bind(…)</c>, <c>Configure&lt;T&gt;(section)</c>, <c>.Configure(o =&gt; …)</c> with
/// a custom binder, validators…), builds each one afresh through <see cref="IOptionsFactory{TOptions}"/> and records
/// every configuration key read on the way. Sections, collections and nested objects get a phantom child <c>0</c>, so unset ones are explored too and
/// <c>Auth:ApiKeys:0:Id</c> is found even when no key is configured. Keys are normalized: <c>Auth__ApiKeys__*__Id</c>.
/// </summary>
public static class AppSettingKeys
{
    public static async Task<IReadOnlySet<string>> ReadByAppAsync(AppFixture fixture)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var recorder = new RecordingSource();
        IServiceCollection? registrations = null;
        await using var app = new BillingApp(fixture.Azurite.ConnectionString).WithWebHostBuilder(builder =>
        {
            builder.ConfigureAppConfiguration((_, configuration) => configuration.Add(recorder));
            builder.ConfigureTestServices(services => registrations = services);
        });
        var services = app.Services;
        var optionsTypes = registrations!
            .Where(d => d.ServiceType.IsGenericType && OptionsServiceTypes.Contains(d.ServiceType.GetGenericTypeDefinition()))
            .Select(d => d.ServiceType.GetGenericArguments()[0])
            .Where(t => t.Assembly.GetName().Name!.StartsWith("Billing.", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.NotEmpty(optionsTypes);
        recorder.Provider.CollectionProperties = CollectionPropertyNames(optionsTypes);

        lock (recorder.Provider)
        {
            recorder.Provider.Recording = true;
            try
            {
                foreach (var type in optionsTypes)
                {
                    var factory = services.GetRequiredService(typeof(IOptionsFactory<>).MakeGenericType(type));
                    try
                    {
                        factory.GetType().GetMethod(nameof(IOptionsFactory<object>.Create))!.Invoke(factory, [Options.DefaultName]);
                    }
                    catch (System.Reflection.TargetInvocationException e) when (e.InnerException is OptionsValidationException)
                    {
                        // The synthetic collection elements are empty; validation failing afterwards is expected.
                    }
                }
            }
            finally
            {
                recorder.Provider.Recording = false;
            }
        }

        // The binder also reads each section and collection element as a value (Auth, Auth:ApiKeys:0); those are not
        // settings. AzureWebJobsStorage is the exception: a connection string, or a section in its identity form.
        var keys = recorder.Provider.Keys.ToList();
        return keys.Where(key => ValueAndSection.Contains(key) || !keys.Any(other => other.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)))
            .Select(Deployment.Normalize)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Settings that are both a value and a section (the Functions host's storage setting).</summary>
    private static readonly HashSet<string> ValueAndSection = new(StringComparer.OrdinalIgnoreCase) { "AzureWebJobsStorage" };

    /// <summary>Names of the collection and nested-object properties of the options types (and of the Billing types they nest).</summary>
    private static HashSet<string> CollectionPropertyNames(IEnumerable<Type> types)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>(types);
        while (pending.TryPop(out var type))
        {
            if (!seen.Add(type))
            {
                continue;
            }

            foreach (var property in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                var propertyType = property.PropertyType;
                if (propertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(propertyType))
                {
                    names.Add(property.Name);
                    var element = propertyType.IsArray ? propertyType.GetElementType()! : propertyType.GetGenericArguments().LastOrDefault();
                    if (element?.Assembly.GetName().Name?.StartsWith("Billing.", StringComparison.Ordinal) == true)
                    {
                        pending.Push(element);
                    }
                }
                else if (propertyType.Assembly.GetName().Name?.StartsWith("Billing.", StringComparison.Ordinal) == true && propertyType.IsClass)
                {
                    names.Add(property.Name);
                    pending.Push(propertyType);
                }
            }
        }

        return names;
    }

    private static readonly HashSet<Type> OptionsServiceTypes =
    [
        typeof(IConfigureOptions<>), typeof(IPostConfigureOptions<>), typeof(IValidateOptions<>), typeof(IOptionsChangeTokenSource<>),
    ];

    private sealed class RecordingSource : IConfigurationSource
    {
        public RecordingProvider Provider { get; } = new();

        public IConfigurationProvider Build(IConfigurationBuilder builder) => Provider;
    }

    /// <summary>Highest-priority provider that holds nothing: sees every key lookup first, and records it while asked to.</summary>
    private sealed class RecordingProvider : ConfigurationProvider
    {
        private readonly ConcurrentDictionary<string, byte> keys = new(StringComparer.OrdinalIgnoreCase);

        public bool Recording { get; set; }

        public IReadOnlySet<string> CollectionProperties { get; set; } = new HashSet<string>();

        public IEnumerable<string> Keys => keys.Keys;

        public override bool TryGet(string key, out string? value)
        {
            if (Recording)
            {
                keys.TryAdd(key, 0);
            }

            value = null;
            return false;
        }

        public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
        {
            // The binder only descends into a section that has children: give every section root, collection and
            // nested object a phantom child "0" so their properties (and element properties) are read too.
            var children = earlierKeys.ToList();
            if (Recording && parentPath is not null && children.Count == 0 && (!parentPath.Contains(':', StringComparison.Ordinal) || CollectionProperties.Contains(parentPath.Split(':')[^1])))
            {
                children.Add("0");
            }

            return children;
        }
    }
}
