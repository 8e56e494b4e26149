using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Billing.Domain;
using Billing.Domain.Payments;
using Billing.Domain.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.StripeGateway;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Payments;
using Billing.Functions.Triggers;
using Billing.StripeEmulator;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Chaos;

/// <summary>
/// A fact that runs only when <c>BILLING_LONG_TESTS=1</c> (skipped otherwise): the long variants of the chaos suites.
/// Mark it <c>[Trait("Category", "Long")]</c> too so it can be selected with <c>--filter Category=Long</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LongChaosFactAttribute : FactAttribute
{
    public const string Variable = "BILLING_LONG_TESTS";

    public LongChaosFactAttribute()
    {
        if (!IsOn)
        {
            Skip = $"Long variant: set {Variable}=1 to run it.";
        }
    }

    public static bool IsOn => Environment.GetEnvironmentVariable(Variable) == "1";
}

/// <summary>The crash injected by a <see cref="CrashPlan"/>: the process "dies" right after step k succeeded.</summary>
public sealed class InjectedCrashException(string message) : Exception(message)
{
    public InjectedCrashException()
        : this("Injected crash.")
    {
    }

    public InjectedCrashException(string message, Exception inner)
        : this(message + " " + inner?.Message)
    {
    }
}

/// <summary>
/// Counts the side-effecting steps of one flow (storage writes and Stripe-mutating gateway calls) in the async context
/// it is armed in, and throws <see cref="InjectedCrashException"/> right after step <see cref="CrashAfter"/> succeeded
/// (once). <see cref="CrashAfter"/> = 0 only counts.
/// </summary>
public sealed class CrashPlan
{
    /// <summary>Requests sent with this header (see <see cref="Client"/>) run under the plan it names inside the app.</summary>
    public const string Header = "X-Chaos-Plan";

    private static readonly AsyncLocal<CrashPlan?> CurrentPlan = new();
    private static readonly ConcurrentDictionary<string, CrashPlan> Registry = new(StringComparer.Ordinal);
    private static readonly HttpContextAccessor Accessor = new();
    private int steps;
    private int crashed;

    public CrashPlan(int crashAfter)
    {
        CrashAfter = crashAfter;
        Registry[Id] = this;
    }

    public string Id { get; } = Guid.NewGuid().ToString("N");

    public int CrashAfter { get; }

    /// <summary>An admin client of <paramref name="app"/> whose requests carry this plan.</summary>
    public HttpClient Client(BillingApp app, bool admin = true)
    {
        ArgumentNullException.ThrowIfNull(app);
        var client = admin ? app.Admin() : app.Anonymous();
        client.DefaultRequestHeaders.Add(Header, Id);
        return client;
    }

    public int Steps => Volatile.Read(ref steps);

    public bool Crashed => Volatile.Read(ref crashed) == 1;

    public List<string> Trace { get; } = [];

    public static CrashPlan? Current =>
        CurrentPlan.Value ?? (Accessor.HttpContext?.Request.Headers[Header].ToString() is { Length: > 0 } id ? Registry.GetValueOrDefault(id) : null);

    /// <summary>Arms this plan for the calling async flow (and what it awaits, including in-process HTTP calls to the test server).</summary>
    public void Arm() => CurrentPlan.Value = this;

    public static void Disarm() => CurrentPlan.Value = null;

    /// <summary>Called after a step succeeded: counts it and crashes when it is the chosen one.</summary>
    public static void AfterStep(string what)
    {
        if (Current is not { } plan)
        {
            return;
        }

        var n = Interlocked.Increment(ref plan.steps);
        lock (plan.Trace)
        {
            plan.Trace.Add(what);
        }

        if (n == plan.CrashAfter && Interlocked.Exchange(ref plan.crashed, 1) == 0)
        {
            throw new InjectedCrashException($"Injected crash after step {n} ({what}).");
        }
    }
}

/// <summary>Storage side of <see cref="CrashPlan"/>: every write (not GET/HEAD) that storage answered is a step.</summary>
public sealed class CrashAfterWritePolicy : HttpPipelinePolicy
{
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        After(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        After(message);
    }

    private static void After(HttpMessage message)
    {
        var method = message.Request.Method;
        if (method != RequestMethod.Get && method != RequestMethod.Head)
        {
            CrashPlan.AfterStep($"storage {method} {message.Request.Uri.Path} → {message.Response.Status}");
        }
    }
}

/// <summary>Gateway side of <see cref="CrashPlan"/>: every Stripe-mutating call that returned is a step.</summary>
public sealed class CrashingGateway(IPaymentGateway inner) : IPaymentGateway
{
    public async Task<string> CreateCustomerAsync(string customerId, string? email, string? name, CancellationToken cancellationToken = default) =>
        After("gateway create customer", await inner.CreateCustomerAsync(customerId, email, name, cancellationToken));

    public Task<GatewayCustomer?> GetCustomerAsync(string gatewayCustomerId, CancellationToken cancellationToken = default) => inner.GetCustomerAsync(gatewayCustomerId, cancellationToken);

    public async Task<GatewaySetupIntent> CreateSetupIntentAsync(string gatewayCustomerId, string customerId, string idempotencyKey, CancellationToken cancellationToken = default) =>
        After("gateway setup intent", await inner.CreateSetupIntentAsync(gatewayCustomerId, customerId, idempotencyKey, cancellationToken));

    public Task<GatewaySetupIntent> GetSetupIntentAsync(string setupIntentId, CancellationToken cancellationToken = default) => inner.GetSetupIntentAsync(setupIntentId, cancellationToken);

    public Task<IReadOnlyList<GatewayPaymentMethod>> ListPaymentMethodsAsync(string gatewayCustomerId, CancellationToken cancellationToken = default) => inner.ListPaymentMethodsAsync(gatewayCustomerId, cancellationToken);

    public Task<GatewayPaymentMethod?> GetPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default) => inner.GetPaymentMethodAsync(paymentMethodId, cancellationToken);

    public async Task<GatewayPaymentMethod> AttachPaymentMethodAsync(string gatewayCustomerId, string paymentMethodId, CancellationToken cancellationToken = default) =>
        After("gateway attach", await inner.AttachPaymentMethodAsync(gatewayCustomerId, paymentMethodId, cancellationToken));

    public async Task DetachPaymentMethodAsync(string paymentMethodId, CancellationToken cancellationToken = default)
    {
        await inner.DetachPaymentMethodAsync(paymentMethodId, cancellationToken);
        CrashPlan.AfterStep("gateway detach");
    }

    public async Task SetDefaultPaymentMethodAsync(string gatewayCustomerId, string? paymentMethodId, CancellationToken cancellationToken = default)
    {
        await inner.SetDefaultPaymentMethodAsync(gatewayCustomerId, paymentMethodId, cancellationToken);
        CrashPlan.AfterStep("gateway set default");
    }

    public async Task<GatewayPayment> ChargeAsync(ChargeRequest request, CancellationToken cancellationToken = default) =>
        After("gateway charge", await inner.ChargeAsync(request, cancellationToken));

    public Task<GatewayPayment> GetPaymentAsync(string gatewayPaymentId, CancellationToken cancellationToken = default) => inner.GetPaymentAsync(gatewayPaymentId, cancellationToken);

    public async Task<GatewayRefund> RefundAsync(RefundRequest request, CancellationToken cancellationToken = default) =>
        After("gateway refund", await inner.RefundAsync(request, cancellationToken));

    public Task<GatewayRefund> GetRefundAsync(string gatewayRefundId, CancellationToken cancellationToken = default) => inner.GetRefundAsync(gatewayRefundId, cancellationToken);

    public Task<IReadOnlyList<GatewayRefund>> ListRefundsAsync(string gatewayPaymentId, Currency currency, CancellationToken cancellationToken = default) =>
        inner.ListRefundsAsync(gatewayPaymentId, currency, cancellationToken);

    private static T After<T>(string what, T result)
    {
        CrashPlan.AfterStep(what);
        return result;
    }
}

/// <summary>
/// The real app with a fresh Stripe emulator (as <see cref="PaymentsHarness"/>), plus the crash-injection seams: the
/// storage pipeline policy and the gateway decorator, both inert unless a <see cref="CrashPlan"/> is armed.
/// </summary>
public sealed class ChaosHarness : IAsyncDisposable
{
    private readonly HttpClient ledger;
    private bool ownsEmulator;

    private ChaosHarness(StripeEmulator.StripeEmulator emulator, BillingApp app, OffsetClock clock)
    {
        Clock = clock;
        Emulator = emulator;
        App = app;
        Admin = app.Admin();
        ledger = Ledger(emulator);
    }

    public StripeEmulator.StripeEmulator Emulator { get; }

    public BillingApp App { get; }

    public HttpClient Admin { get; }

    /// <summary>The app's clock: real time plus an offset a test may move forward ("time passes").</summary>
    public OffsetClock Clock { get; } = new();

    public static string RandomPrefix(string stem) => stem + new string([.. RandomNumberGenerator.GetBytes(8).Select(b => (char)('a' + (b % 26)))]);

    /// <summary>Starts the app (or, with <paramref name="emulator"/> and <paramref name="prefix"/>, another instance sharing both).</summary>
    public static async Task<ChaosHarness> StartAsync(
        AppFixture fixture, IReadOnlyDictionary<string, string?>? extra = null, StripeEmulator.StripeEmulator? emulator = null, string? prefix = null, bool deliverWebhooks = true)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var owns = emulator is null;
        emulator ??= new StripeEmulator.StripeEmulator(new StripeEmulatorOptions
        {
            WebhookRetryInitialDelay = TimeSpan.FromMilliseconds(20),
            WebhookRetryMaxDelay = TimeSpan.FromMilliseconds(200),
        });
        var settings = new Dictionary<string, string?>
        {
            ["Storage:NamePrefix"] = prefix ?? RandomPrefix("c"),
            ["Stripe:WebhookSecrets:0"] = PaymentsHarness.WebhookSecret,
            ["Stripe:RetryBaseDelay"] = "00:00:00.010",
            ["Stripe:RetryMaxDelay"] = "00:00:00.050",
            ["Stripe:RequestTimeout"] = "00:00:02",
            ["Invoicing:SellerName"] = "Northwind Billing Ltd",
            ["Invoicing:SellerAddress"] = "1 Harbour Street; London EC1 1AA; GB",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var shared = emulator;
        var clock = new OffsetClock();
        var app = new BillingApp(fixture.Azurite.ConnectionString, settings, services =>
        {
            services.AddSingleton(shared);
            services.AddSingleton<TimeProvider>(clock);
            services.AddHttpContextAccessor();
            services.AddSingleton(new StorageClientPolicy(new CrashAfterWritePolicy()));
            services.AddSingleton<StripePaymentGateway>();
            services.AddSingleton<IPaymentGateway>(sp => new CrashingGateway(sp.GetRequiredService<StripePaymentGateway>()));
        });
        var harness = new ChaosHarness(emulator, app, clock) { ownsEmulator = owns };
        app.Server.PreserveExecutionContext = true;
        var health = await harness.Admin.GetAsync(new Uri("/api/health", UriKind.Relative));
        health.EnsureSuccessStatusCode();
        if (deliverWebhooks)
        {
            emulator.Webhooks.AddEndpoint(new WebhookEndpoint(new Uri("http://localhost/api/webhooks/stripe"), PaymentsHarness.WebhookSecret) { Handler = app.Server.CreateHandler() });
        }

        return harness;
    }

    public IQueueFunction QueueFunction(string name) => App.Services.GetServices<IQueueFunction>().Single(f => f.FunctionName == name);

    public async Task<(string Customer, string PaymentMethod)> CustomerWithCardAsync(string token = "pm_card_visa")
    {
        var customer = await Admin.CreateCustomerAsync();
        var attached = await Admin.PostJsonAsync($"/api/customers/{customer}/payment-methods", new { payment_method = token });
        Assert.True(attached.Status == System.Net.HttpStatusCode.Created, attached.Body.ToJsonString());
        return (customer, attached.Id());
    }

    /// <summary>A daily price: subscriptions anchored a second ahead fall due for renewal a second later (real time, no test clock).</summary>
    public async Task<string> DailyPriceAsync(long unitAmount = 1500)
    {
        var product = await Admin.PostJsonAsync("/api/products", new { name = "Daily plan" });
        var price = await Admin.PostJsonAsync("/api/prices", new { product = product.Id(), currency = "usd", billing_scheme = "per_unit", unit_amount = unitAmount, recurring = new { interval = "day" } });
        Assert.True(price.Status == System.Net.HttpStatusCode.Created, price.Body.ToJsonString());
        return price.Id();
    }

    /// <summary>A subscription whose renewal falls due at <paramref name="anchor"/> (its first, prorated invoice is settled now).</summary>
    public async Task<JsonNode> SubscribeAnchoredAsync(string customer, string price, DateTimeOffset anchor)
    {
        var created = await Admin.PostJsonAsync("/api/subscriptions", new { customer, items = new[] { new { price, quantity = 1 } }, billing_cycle_anchor = anchor }, Guid.NewGuid().ToString("N"));
        Assert.True(created.Status == System.Net.HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Body;
    }

    public Task<IReadOnlyList<DueWork>> ScheduleOfAsync(string customer) => App.Services.GetRequiredService<IScheduleStore>().ListForCustomerAsync(customer);

    /// <summary>The queue message the sweep would send for <paramref name="work"/>.</summary>
    public static QueueMessage MessageFor(DueWork work, int dequeueCount) =>
        new(Guid.NewGuid().ToString("N"), JsonSerializer.Serialize(work, StorageJson.Options), dequeueCount, DateTimeOffset.UtcNow);

    /// <summary>Every object of a list endpoint of the emulator (<c>payment_intents</c>, <c>charges</c>, <c>refunds</c>).</summary>
    public Task<IReadOnlyList<JsonObject>> StripeListAsync(string resource) => StripeListAsync(ledger, resource);

    /// <summary>Succeeded payment intents grouped by a metadata key (e.g. <c>billing_invoice_id</c>).</summary>
    public Task<ILookup<string, JsonObject>> SucceededIntentsByAsync(string metadataKey) => SucceededIntentsByAsync(ledger, metadataKey);

    /// <summary>A client of the emulator's own API (its ledger), without going through the app.</summary>
    public static HttpClient Ledger(StripeEmulator.StripeEmulator emulator)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        var client = new HttpClient(emulator.CreateHandler()) { BaseAddress = new Uri(StripeEmulator.StripeEmulator.InProcessBaseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_chaos_ledger");
        return client;
    }

    /// <inheritdoc cref="StripeListAsync(string)"/>
    public static async Task<IReadOnlyList<JsonObject>> StripeListAsync(HttpClient ledger, string resource)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var all = new List<JsonObject>();
        string? after = null;
        while (true)
        {
            var url = $"/v1/{resource}?limit=100" + (after is null ? "" : "&starting_after=" + after);
            var page = JsonNode.Parse(await ledger.GetStringAsync(new Uri(url, UriKind.Relative)))!;
            var data = page["data"]!.AsArray().Select(n => n!.AsObject()).ToList();
            all.AddRange(data);
            if (data.Count == 0 || !(bool)page["has_more"]!)
            {
                return all;
            }

            after = (string)data[^1]["id"]!;
        }
    }

    /// <inheritdoc cref="SucceededIntentsByAsync(string)"/>
    public static async Task<ILookup<string, JsonObject>> SucceededIntentsByAsync(HttpClient ledger, string metadataKey) =>
        (await StripeListAsync(ledger, "payment_intents"))
            .Where(pi => (string?)pi["status"] == "succeeded" && pi["metadata"]?[metadataKey] is not null)
            .ToLookup(pi => (string)pi["metadata"]![metadataKey]!, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        ledger.Dispose();
        Admin.Dispose();
        await App.DisposeAsync();
        if (ownsEmulator)
        {
            await Emulator.DisposeAsync();
        }
    }
}

/// <summary>Real time plus a settable offset, plus a shift that only the calling async flow sees.</summary>
public sealed class OffsetClock : TimeProvider
{
    private readonly AsyncLocal<TimeSpan> flowShift = new();
    private long offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref offsetTicks));
        set => Interlocked.Exchange(ref offsetTicks, value.Ticks);
    }

    /// <summary>Moves time forward for everyone; concurrent advances are never lost.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);

    /// <summary>
    /// Shifts time for the calling async flow only (and what it awaits inline) until disposed: parallel runs that share
    /// the app keep real time. Moving the shared offset and restoring it was a race: another run's Idempotency-Key claim
    /// got stamped hours ahead, so its in-flight lease never ended, and a restore could erase another run's advance.
    /// </summary>
    public IDisposable ShiftFlow(TimeSpan by)
    {
        var before = flowShift.Value;
        flowShift.Value = before + by;
        return new Restore(this, before);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset + flowShift.Value;

    private sealed class Restore(OffsetClock clock, TimeSpan before) : IDisposable
    {
        public void Dispose() => clock.flowShift.Value = before;
    }
}

/// <summary>Run and violation counts of a suite, written to the test output.</summary>
public sealed class ChaosTally(ITestOutputHelper output, string suite)
{
    private readonly List<string> violations = [];
    private int runs;

    public int Runs => runs;

    public IReadOnlyList<string> Violations => violations;

    public void Run() => Interlocked.Increment(ref runs);

    public void Check(bool ok, string violation)
    {
        if (!ok)
        {
            lock (violations)
            {
                violations.Add(violation);
            }
        }
    }

    public void Report(string detail = "")
    {
        output.WriteLine($"{suite}: {runs} runs, {violations.Count} violations{(detail.Length > 0 ? "; " + detail : "")}");
        foreach (var v in violations.Take(20))
        {
            output.WriteLine("  violation: " + v);
        }

        Assert.True(violations.Count == 0, $"{suite}: {violations.Count} violations in {runs} runs; first: {violations.FirstOrDefault()}");
    }
}
