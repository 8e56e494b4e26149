namespace Billing.Functions.Triggers;

/// <summary>
/// The body of one timer-triggered function. The schedule lives in its <c>function.json</c> (six-field NCRONTAB, UTC);
/// the host (or <c>LocalHost</c>) runs it on one instance at a time.
/// </summary>
public interface ITimerFunction
{
    /// <summary>The function's name: its folder and the path the host posts to.</summary>
    string FunctionName { get; }

    /// <summary>Runs one tick; returns log lines for the host.</summary>
    Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken cancellationToken);
}

public static class TimerFunctionRegistration
{
    public static IServiceCollection AddTimerFunction<TFunction>(this IServiceCollection services)
        where TFunction : class, ITimerFunction
    {
        services.AddSingleton<TFunction>();
        services.AddSingleton<ITimerFunction>(sp => sp.GetRequiredService<TFunction>());
        return services;
    }
}
