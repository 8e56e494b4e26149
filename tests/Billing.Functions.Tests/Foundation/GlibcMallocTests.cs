using System.Runtime.InteropServices;
using Billing.Functions.Hosting;

namespace Billing.Functions.Tests.Foundation;

public sealed class GlibcMallocTests
{
    [Fact]
    public void Glibc_takes_both_allocator_settings_on_linux()
    {
        // The CI machine and the Functions image are glibc-based Linux; elsewhere (Windows, macOS, musl) it is a no-op that says so.
        var glibc = OperatingSystem.IsLinux() && !RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal);
        Assert.Equal(glibc, GlibcMalloc.Configure());
    }
}
