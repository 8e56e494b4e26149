using System.Runtime.InteropServices;

namespace Billing.Functions.InvoicePdf;

/// <summary>
/// HarfBuzz subsetting entry points. HarfBuzzSharp ships them in its native library but does not wrap them;
/// Skia's PDF backend (as built for SkiaSharp) embeds whole font files, so the renderer subsets fonts itself.
/// </summary>
internal static class NativeMethods
{
    private const string HarfBuzz = "libHarfBuzzSharp";

    /// <summary>HB_SUBSET_FLAGS_NO_HINTING: drop TrueType instructions (useless in a PDF, and large).</summary>
    internal const uint SubsetFlagsNoHinting = 0x1;

    internal const uint MapValueInvalid = uint.MaxValue;

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_preprocess(IntPtr face);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_input_create_or_fail();

    [DllImport(HarfBuzz)]
    internal static extern void hb_subset_input_destroy(IntPtr input);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_input_unicode_set(IntPtr input);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_input_glyph_set(IntPtr input);

    [DllImport(HarfBuzz)]
    internal static extern void hb_subset_input_set_flags(IntPtr input, uint flags);

    [DllImport(HarfBuzz)]
    internal static extern void hb_set_add(IntPtr set, uint codepoint);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_plan_create_or_fail(IntPtr face, IntPtr input);

    [DllImport(HarfBuzz)]
    internal static extern void hb_subset_plan_destroy(IntPtr plan);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_plan_old_to_new_glyph_mapping(IntPtr plan);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_subset_plan_execute_or_fail(IntPtr plan);

    [DllImport(HarfBuzz)]
    internal static extern uint hb_map_get(IntPtr map, uint key);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_face_reference_blob(IntPtr face);

    [DllImport(HarfBuzz)]
    internal static extern void hb_face_destroy(IntPtr face);

    [DllImport(HarfBuzz)]
    internal static extern IntPtr hb_blob_get_data(IntPtr blob, out uint length);

    [DllImport(HarfBuzz)]
    internal static extern void hb_blob_destroy(IntPtr blob);
}
