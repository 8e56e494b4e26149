using Billing.Functions;
using Billing.Functions.ApiDocs;
using Billing.Functions.Audit;
using Billing.Functions.Auth;
using Billing.Functions.Catalog;
using Billing.Functions.Customers;
using Billing.Functions.Disputes;
using Billing.Functions.Dunning;
using Billing.Functions.Health;
using Billing.Functions.Hosting;
using Billing.Functions.Http;
using Billing.Functions.Idempotency;
using Billing.Functions.Invoices;
using Billing.Functions.LocalHost;
using Billing.Functions.Notifications;
using Billing.Functions.Payments;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Telemetry;
using Billing.Functions.TestClocks;
using Billing.Functions.Triggers;

GlibcMalloc.Configure(); // native memory: few allocator arenas (see the class)
var builder = WebApplication.CreateBuilder(args);
builder.AddFunctionsHosting();
await using var azurite = await LocalStorage.StartAzuriteIfNeededAsync(builder);

builder.Services
    .AddBillingTelemetry(builder.Configuration, builder.Environment)
    .AddHttpConventions(builder.Configuration)
    .AddBillingAuth(builder.Configuration)
    .AddBillingStorage(builder.Configuration)
    .AddStorageOperationCounter(builder.Configuration)
    .AddApiDocs()
    .AddCustomersAndCatalog()
    .AddScheduling()
    .AddSubscriptionsAndInvoicing()
    .AddDunning()
    .AddNotifications(builder.Configuration)
    .AddTestClocks(builder.Configuration)
    .AddLocalTriggerHost(builder.Configuration)
    .AddPayments(builder.Configuration)
    .AddDisputes(builder.Configuration);

var app = builder.Build();

app.UseMiddleware<AuditMiddleware>();
app.UseHttpConventions();
app.UseBillingAuth();
app.UseMiddleware<IdempotencyMiddleware>();

app.MapHealthApi();
app.MapApiDocs();
app.MapCustomersApi();
app.MapProductsApi();
app.MapPricesApi();
app.MapSubscriptionsAndInvoicingApi();
app.MapAuditApi();
app.MapPaymentsEndpoints();
app.MapDisputesApi();
app.MapNotificationsApi();
app.MapTestClocksApi();
app.MapTriggerFunctions();
app.MapStorageOperations();

await app.RunAsync();

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
