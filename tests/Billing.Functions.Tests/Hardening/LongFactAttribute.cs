namespace Billing.Functions.Tests.Hardening;

/// <summary>
/// A fact that runs only when <c>BILLING_LONG_TESTS=1</c> (skipped otherwise), for the long variants of the generated
/// suites; mark it <c>[Trait("Category", "Long")]</c> too so it can be selected with <c>--filter Category=Long</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LongFactAttribute : FactAttribute
{
    public const string Variable = "BILLING_LONG_TESTS";

    public LongFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"Long variant: set {Variable}=1 to run it.";
        }
    }
}
