using System.Runtime.InteropServices;

namespace Billing.Functions.Hosting;

/// <summary>
/// Keeps native memory from piling up in glibc's allocator. Brotli (stored records), Skia and HarfBuzz (invoice PDFs)
/// and OpenSSL allocate and free natively on thread-pool threads. By default glibc gives busy threads arenas of their
/// own (up to 8 per core) and, once a large block has been freed, serves blocks of that size from those arenas, which
/// keep the freed memory: after the 10,000-renewal benchmark's set-up, 15 arenas held about 60 MB of the app's 294 MB
/// resident. Two arenas, and a fixed threshold above which blocks are mapped and returned to the system when freed,
/// keep it small; the cost is a system call per large native block (a few per renewal). A no-op where the C library is
/// not glibc.
/// </summary>
public static class GlibcMalloc
{
    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD: setting it also stops glibc from raising it on its own
    private const int ArenaMax = -8; // M_ARENA_MAX

    /// <summary>Call first thing in <c>Main</c>, before the thread pool's threads make arenas. True when glibc took both settings.</summary>
    public static bool Configure()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return Mallopt(ArenaMax, 2) == 1 & Mallopt(MmapThreshold, 128 * 1024) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl (Alpine) and other C libraries have no mallopt: their defaults stand
        }
    }

    [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Mallopt(int parameter, int value);
}
