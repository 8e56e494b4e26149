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

/// <summary>A registered timer function, known by name before it is built (see <see cref="QueueFunctionRoute"/>).</summary>
public sealed record TimerFunctionRoute(string FunctionName, Type Implementation);

public static class TimerFunctionRegistration
{
    /// <summary>Registers a timer function; <paramref name="functionName"/> must equal the instance's own (a test checks).</summary>
    public static IServiceCollection AddTimerFunction<TFunction>(this IServiceCollection services, string functionName)
        where TFunction : class, ITimerFunction
    {
        services.AddSingleton<TFunction>();
        services.AddSingleton<ITimerFunction>(sp => sp.GetRequiredService<TFunction>());
        services.AddSingleton(new TimerFunctionRoute(functionName, typeof(TFunction)));
        return services;
    }
}
