using System.Reflection;
using HarfBuzzSharp;
using SkiaSharp;

namespace Billing.Functions.InvoicePdf;

/// <summary>
/// The fonts shipped with the renderer, loaded once per process from embedded resources. Immutable after
/// construction and shared by every render on every thread (HarfBuzz faces and Skia data are read-only).
/// </summary>
/// <remarks>
/// Fallback order: DejaVu Sans (Latin, Greek, Cyrillic, currency signs) → Droid Sans Fallback (CJK ideographs,
/// kana) → NanumSquare (Hangul). Bold text uses DejaVu Sans Bold first and the regular fonts after it.
/// </remarks>
internal sealed class FontSet
{
    internal const int Regular = 0;
    internal const int Bold = 1;
    internal const int Han = 2;
    internal const int Hangul = 3;

    private static readonly Lazy<FontSet> SharedInstance = new(() => new FontSet(), LazyThreadSafetyMode.ExecutionAndPublication);

    private FontSet()
    {
        Fonts =
        [
            EmbeddedFont.Load("DejaVuSans.ttf"),
            EmbeddedFont.Load("DejaVuSans-Bold.ttf"),
            EmbeddedFont.Load("DroidSansFallbackFull.ttf"),
            EmbeddedFont.Load("NanumSquareR.ttf"),
        ];
    }

    internal static FontSet Shared => SharedInstance.Value;

    internal IReadOnlyList<EmbeddedFont> Fonts { get; }

    internal static ReadOnlySpan<int> RegularChain => [Regular, Han, Hangul];

    internal static ReadOnlySpan<int> BoldChain => [Bold, Regular, Han, Hangul];
}

/// <summary>One font file: its bytes (kept for the process lifetime), a HarfBuzz face for shaping and a preprocessed face for subsetting.</summary>
internal sealed class EmbeddedFont
{
    private readonly SKData data;
    private readonly IntPtr subsetSource;

    private EmbeddedFont(string fileName, SKData data)
    {
        FileName = fileName;
        this.data = data;

        // The blob points into the SKData's native memory, which lives as long as this object (the process).
        Blob = new Blob(data.Data, checked((int)data.Size), MemoryMode.ReadOnly);
        Blob.MakeImmutable();
        Face = new Face(Blob, 0);
        Face.MakeImmutable();
        UnitsPerEm = Face.UnitsPerEm;
        subsetSource = NativeMethods.hb_subset_preprocess(Face.Handle);
    }

    internal string FileName { get; }

    internal Blob Blob { get; }

    internal Face Face { get; }

    internal int UnitsPerEm { get; }

    internal static EmbeddedFont Load(string fileName)
    {
        var resource = "Billing.Functions.InvoicePdf.Fonts." + fileName;
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded font '{resource}' is missing from the assembly.");
        return new EmbeddedFont(fileName, SKData.Create(stream));
    }

    /// <summary>
    /// Builds a font holding only <paramref name="glyphs"/> (and cmap entries for <paramref name="codepoints"/>), so a
    /// PDF embeds a few kilobytes instead of megabytes. Returns the Skia typeface and the old → new glyph id map.
    /// Falls back to the whole font, unchanged ids, if HarfBuzz cannot subset it.
    /// </summary>
    internal SubsetFont Subset(IReadOnlyCollection<ushort> glyphs, IReadOnlyCollection<int> codepoints)
    {
        var input = NativeMethods.hb_subset_input_create_or_fail();
        var plan = IntPtr.Zero;
        var face = IntPtr.Zero;
        var blob = IntPtr.Zero;
        try
        {
            if (input == IntPtr.Zero || subsetSource == IntPtr.Zero)
            {
                return Whole();
            }

            var unicodeSet = NativeMethods.hb_subset_input_unicode_set(input);
            foreach (var codepoint in codepoints)
            {
                NativeMethods.hb_set_add(unicodeSet, (uint)codepoint);
            }

            // Glyphs reached through the cmap are kept via their code points. Only the others (ligatures, contextual
            // forms) go in the glyph set: HarfBuzz keeps every cmap entry of a requested glyph, and a stray mapping such
            // as U+0001 → space would make Skia's ToUnicode map the space glyph to U+0001.
            var nominal = new HashSet<ushort>();
            using (var font = new HarfBuzzSharp.Font(Face))
            {
                foreach (var codepoint in codepoints)
                {
                    if (font.TryGetNominalGlyph((uint)codepoint, out var glyph))
                    {
                        nominal.Add((ushort)glyph);
                    }
                }
            }

            var glyphSet = NativeMethods.hb_subset_input_glyph_set(input);
            foreach (var glyph in glyphs)
            {
                if (!nominal.Contains(glyph))
                {
                    NativeMethods.hb_set_add(glyphSet, glyph);
                }
            }

            NativeMethods.hb_subset_input_set_flags(input, NativeMethods.SubsetFlagsNoHinting);
            plan = NativeMethods.hb_subset_plan_create_or_fail(subsetSource, input);
            if (plan == IntPtr.Zero)
            {
                return Whole();
            }

            var oldToNew = NativeMethods.hb_subset_plan_old_to_new_glyph_mapping(plan);
            var map = new Dictionary<ushort, ushort>(glyphs.Count);
            foreach (var glyph in glyphs)
            {
                var mapped = NativeMethods.hb_map_get(oldToNew, glyph);
                if (mapped == NativeMethods.MapValueInvalid || mapped > ushort.MaxValue)
                {
                    return Whole();
                }

                map[glyph] = (ushort)mapped;
            }

            face = NativeMethods.hb_subset_plan_execute_or_fail(plan);
            if (face == IntPtr.Zero)
            {
                return Whole();
            }

            blob = NativeMethods.hb_face_reference_blob(face);
            var bytes = NativeMethods.hb_blob_get_data(blob, out var length);
            if (bytes == IntPtr.Zero || length == 0)
            {
                return Whole();
            }

            // The typeface takes its own reference to the copied data.
            using var subsetData = SKData.CreateCopy(bytes, length);
            var typeface = SKTypeface.FromData(subsetData);
            return typeface is null ? Whole() : new SubsetFont(typeface, map);
        }
        finally
        {
            if (blob != IntPtr.Zero)
            {
                NativeMethods.hb_blob_destroy(blob);
            }

            if (face != IntPtr.Zero)
            {
                NativeMethods.hb_face_destroy(face);
            }

            if (plan != IntPtr.Zero)
            {
                NativeMethods.hb_subset_plan_destroy(plan);
            }

            if (input != IntPtr.Zero)
            {
                NativeMethods.hb_subset_input_destroy(input);
            }
        }
    }

    private SubsetFont Whole() =>
        new(SKTypeface.FromData(data) ?? throw new InvalidOperationException($"Skia cannot load font '{FileName}'."), null);
}

/// <summary>A per-document subset: the typeface to draw with and the glyph id map (<c>null</c> = ids unchanged).</summary>
internal sealed class SubsetFont(SKTypeface typeface, IReadOnlyDictionary<ushort, ushort>? map) : IDisposable
{
    internal SKTypeface Typeface { get; } = typeface;

    internal ushort Map(ushort glyph) => map is null ? glyph : map.TryGetValue(glyph, out var mapped) ? mapped : (ushort)0;

    public void Dispose() => Typeface.Dispose();
}
