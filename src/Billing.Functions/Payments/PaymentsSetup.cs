using Billing.Domain.Payments;
using Billing.Functions.Storage;
using Billing.Functions.StripeGateway;
using Billing.Functions.Triggers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Emulator = Billing.StripeEmulator.StripeEmulator;

namespace Billing.Functions.Payments;

/// <summary>Registers the Stripe gateway, payment storage, payment use cases and the Stripe event processor.</summary>
public static class PaymentsSetup
{
    public static IServiceCollection AddPayments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StripeOptions>().Bind(configuration.GetSection(StripeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<StripeOptions>, StripeOptionsValidator>();
        services.TryAddSingleton(_ => new Emulator());
        services.AddSingleton<StripeRuntime>();
        services.AddSingleton<IPaymentGateway, StripePaymentGateway>();
        services.AddSingleton<TablePaymentStore>();
        services.AddSingleton<IPaymentStore>(sp => ActivatorUtilities.CreateInstance<NotifyingPaymentStore>(sp, sp.GetRequiredService<TablePaymentStore>()));
        services.AddSingleton<PaymentService>();
        foreach (var kind in new[] { PaymentService.ReconcilePaymentWork, PaymentService.ReconcileRefundWork })
        {
            services.AddSingleton<Scheduling.IWorkHandler>(sp => ActivatorUtilities.CreateInstance<ReconciliationHandler>(sp, kind));
        }
        services.AddSingleton<StripeEventStore>();
        services.AddSingleton<StripeEventTriage>();
        services.AddSingleton<StripeEventQueue>();
        services.AddSingleton(new StorageResource(StorageResourceKind.Table, StripeEventStore.TableName));
        services.AddQueueFunction<StripeEventsFunction>(StripeEventsFunction.Name, StripeEventsFunction.Queue);
        services.AddHostedService<EmulatorWebhookRegistration>();
        return services;
    }

    public static IEndpointRouteBuilder MapPaymentsEndpoints(this IEndpointRouteBuilder routes) =>
        routes.MapPaymentsApi().MapPaymentMethodsApi().MapStripeWebhookApi();

    private sealed class StripeOptionsValidator : IValidateOptions<StripeOptions>
    {
        public ValidateOptionsResult Validate(string? name, StripeOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
