using Billing.Domain.Invoicing;
using Billing.Functions.InvoicePdf;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Billing.Functions.Subscriptions;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Billing.Functions.Invoices;

/// <summary>Registers and maps subscriptions, invoices, coupons (and customer discounts), tax rates and credit notes.</summary>
public static class InvoicingRegistration
{
    public static IServiceCollection AddSubscriptionsAndInvoicing(this IServiceCollection services)
    {
        services.AddOptions<InvoicingOptions>().BindConfiguration(InvoicingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(new StorageResource(StorageResourceKind.Container, InvoiceDocuments.Container));
        services.TryAddSingleton<InvoicePdfRenderer>();
        services.AddSingleton<TableInvoicingStore>();
        services.AddSingleton<AccountNumbering>();
        services.AddSingleton<IWorkHandler, ReservedNumberFinalizer>();
        services.AddSingleton<InvoiceDocuments>();
        services.AddSingleton<BillingReferences>();
        services.AddSingleton<CouponRedemptions>();
        services.AddSingleton<IWorkHandler, CouponRedemptionHandler>();
        services.AddSingleton<CustomerDiscountService>();
        services.AddSingleton<InvoiceService>();
        services.AddSingleton<RefundCreditNoteService>();
        services.AddSingleton<IWorkHandler>(sp => sp.GetRequiredService<RefundCreditNoteService>());
        services.AddSingleton<SubscriptionSchedule>();
        services.AddSingleton<SubscriptionService>();
        foreach (var kind in SubscriptionWorkHandler.Kinds)
        {
            services.AddSingleton<IWorkHandler>(sp => new SubscriptionWorkHandler(kind, sp.GetRequiredService<SubscriptionService>()));
        }

        services.TryAddSingleton<IInvoiceCollector, GatewayInvoiceCollector>();
        return services;
    }

    public static IEndpointRouteBuilder MapSubscriptionsAndInvoicingApi(this IEndpointRouteBuilder routes)
    {
        routes.MapSubscriptionsApi();
        routes.MapInvoicesApi();
        routes.MapCouponsTaxRatesAndCreditNotesApi();
        routes.MapCustomerDiscountsApi();
        return routes;
    }
}
