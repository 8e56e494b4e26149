using System.Globalization;
using System.Text;
using Billing.Functions.Storage;
using SkiaSharp;
using HbBuffer = HarfBuzzSharp.Buffer;
using HbFont = HarfBuzzSharp.Font;

namespace Billing.Functions.InvoicePdf;

/// <summary>Glyphs of one font, shaped by HarfBuzz, with the UTF-8 text and cluster map they came from (for ToUnicode/ActualText).</summary>
internal sealed class GlyphRun(int font, ushort[] glyphs, SKPoint[] positions, byte[] utf8, uint[] clusters, int[] codepoints)
{
    /// <summary>Index into <see cref="FontSet.Fonts"/>.</summary>
    internal int Font { get; } = font;

    /// <summary>Glyph ids in the original (not subset) font.</summary>
    internal ushort[] Glyphs { get; } = glyphs;

    /// <summary>Glyph origins relative to the text origin, in points.</summary>
    internal SKPoint[] Positions { get; } = positions;

    internal byte[] Utf8 { get; } = utf8;

    /// <summary>Per glyph: byte offset into <see cref="Utf8"/> of the cluster it renders.</summary>
    internal uint[] Clusters { get; } = clusters;

    /// <summary>Distinct code points of the run, kept in the subset font's cmap.</summary>
    internal int[] Codepoints { get; } = codepoints;
}

/// <summary>A shaped single line of text: immutable, so shared between renders through the cache.</summary>
internal sealed class ShapedText(string text, float size, float width, GlyphRun[] runs)
{
    internal string Text { get; } = text;

    internal float Size { get; } = size;

    /// <summary>Advance width in points.</summary>
    internal float Width { get; } = width;

    internal GlyphRun[] Runs { get; } = runs;
}

/// <summary>
/// Shapes text with HarfBuzz using per-code-point font fallback, and wraps paragraphs. One instance per render
/// (it owns a HarfBuzz buffer and fonts, which are not shared between threads); shaped lines are cached process-wide.
/// </summary>
internal sealed class TextShaper : IDisposable
{
    private const int CacheLimit = 4_096; // labels, dates and amounts recur; names and invoice numbers mostly do not

    private static readonly BoundedMemo<(string Text, bool Bold, float Size), ShapedText> Cache = new(CacheLimit);

    /// <summary>
    /// Discretionary Latin ligatures off: DejaVu maps "ffi" to the U+FB03 glyph, which text extraction returns as "ﬃ",
    /// so "Office" would no longer be found in the PDF. Required ligatures of complex scripts (rlig, ccmp) stay on.
    /// </summary>
    private static readonly HarfBuzzSharp.Feature[] Features =
    [
        HarfBuzzSharp.Feature.Parse("liga=0"),
        HarfBuzzSharp.Feature.Parse("clig=0"),
        HarfBuzzSharp.Feature.Parse("dlig=0"),
    ];

    private readonly FontSet fontSet;
    private readonly HbFont?[] fonts;
    private readonly HbBuffer buffer = new();

    internal TextShaper(FontSet fontSet)
    {
        this.fontSet = fontSet;
        fonts = new HbFont?[fontSet.Fonts.Count];
    }

    internal ShapedText Shape(string text, bool bold, float size)
    {
        var key = (text, bold, size);
        if (Cache.TryGet(key, out var cached))
        {
            return cached;
        }

        var shaped = ShapeUncached(text, bold, size);
        Cache.Set(key, shaped);
        return shaped;
    }

    /// <summary>Greedy line breaking at spaces and between CJK characters; words wider than the box break between characters.</summary>
    internal List<ShapedText> Wrap(string text, bool bold, float size, float maxWidth)
    {
        var lines = new List<ShapedText>();
        foreach (var paragraph in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var whole = Shape(paragraph, bold, size);
            if (whole.Width <= maxWidth)
            {
                lines.Add(whole);
                continue;
            }

            var line = new StringBuilder();
            var lineWidth = 0f;
            foreach (var token in Tokens(paragraph))
            {
                var tokenWidth = Shape(token, bold, size).Width;
                var visibleWidth = Shape(token.TrimEnd(), bold, size).Width;
                if (line.Length > 0 && lineWidth + visibleWidth > maxWidth)
                {
                    lines.Add(Shape(line.ToString().TrimEnd(), bold, size));
                    line.Clear();
                    lineWidth = 0;
                }

                if (line.Length == 0 && visibleWidth > maxWidth)
                {
                    // A single word wider than the box: break it between text elements.
                    var rest = BreakLongWord(token, bold, size, maxWidth, lines);
                    line.Append(rest);
                    lineWidth = Shape(rest, bold, size).Width;
                    continue;
                }

                line.Append(token);
                lineWidth += tokenWidth;
            }

            if (line.Length > 0)
            {
                lines.Add(Shape(line.ToString().TrimEnd(), bold, size));
            }
        }

        return lines;
    }

    public void Dispose()
    {
        buffer.Dispose();
        foreach (var font in fonts)
        {
            font?.Dispose();
        }
    }

    private string BreakLongWord(string word, bool bold, float size, float maxWidth, List<ShapedText> lines)
    {
        var elements = StringInfo.GetTextElementEnumerator(word);
        var current = new StringBuilder();
        while (elements.MoveNext())
        {
            var element = elements.GetTextElement();
            if (current.Length > 0 && Shape(current + element, bold, size).Width > maxWidth)
            {
                lines.Add(Shape(current.ToString(), bold, size));
                current.Clear();
            }

            current.Append(element);
        }

        return current.ToString();
    }

    /// <summary>Splits into break units: a word with its trailing spaces, or a single CJK character.</summary>
    private static IEnumerable<string> Tokens(string paragraph)
    {
        var token = new StringBuilder();
        var previousWasSpace = false;
        foreach (var rune in paragraph.EnumerateRunes())
        {
            var isSpace = Rune.IsWhiteSpace(rune);
            var isWide = IsBreakAnywhere(rune);
            if (token.Length > 0 && ((previousWasSpace && !isSpace) || isWide))
            {
                yield return token.ToString();
                token.Clear();
            }

            token.Append(rune.ToString());
            previousWasSpace = isSpace;
            if (isWide)
            {
                yield return token.ToString();
                token.Clear();
                previousWasSpace = false;
            }
        }

        if (token.Length > 0)
        {
            yield return token.ToString();
        }
    }

    private static bool IsBreakAnywhere(Rune rune) => rune.Value is
        (>= 0x2E80 and <= 0x9FFF) // CJK radicals, kana, CJK symbols, ideographs
        or (>= 0xAC00 and <= 0xD7AF) // Hangul syllables
        or (>= 0xF900 and <= 0xFAFF) // CJK compatibility ideographs
        or (>= 0xFF00 and <= 0xFFEF) // full-width forms
        or (>= 0x20000 and <= 0x3FFFF); // CJK extensions

    private ShapedText ShapeUncached(string text, bool bold, float size)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var chain = bold ? FontSet.BoldChain : FontSet.RegularChain;
        var runs = new List<GlyphRun>();
        var x = 0f;

        var runFont = -1;
        var runStart = 0;
        var offset = 0;
        var codepoints = new List<int>();
        foreach (var rune in text.EnumerateRunes())
        {
            var font = PickFont(rune, runFont, chain);
            if (font != runFont && runFont >= 0)
            {
                runs.Add(ShapeRun(runFont, utf8, runStart, offset - runStart, codepoints, size, ref x));
                codepoints.Clear();
                runStart = offset;
            }

            runFont = font;
            if (!codepoints.Contains(rune.Value))
            {
                codepoints.Add(rune.Value);
            }

            offset += rune.Utf8SequenceLength;
        }

        if (runFont >= 0)
        {
            runs.Add(ShapeRun(runFont, utf8, runStart, offset - runStart, codepoints, size, ref x));
        }

        return new ShapedText(text, size, x, [.. runs]);
    }

    private int PickFont(Rune rune, int current, ReadOnlySpan<int> chain)
    {
        var category = Rune.GetUnicodeCategory(rune);
        var attaches = category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            || rune.Value is 0x200C or 0x200D || rune.Value is (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF);
        if (current >= 0 && (attaches || (Rune.IsWhiteSpace(rune) && HasGlyph(current, rune))))
        {
            return current;
        }

        foreach (var font in chain)
        {
            if (HasGlyph(font, rune))
            {
                return font;
            }
        }

        return chain[0];
    }

    private bool HasGlyph(int font, Rune rune) => Font(font).TryGetNominalGlyph((uint)rune.Value, out _);

    private HbFont Font(int index)
    {
        if (fonts[index] is { } font)
        {
            return font;
        }

        font = new HbFont(fontSet.Fonts[index].Face);
        font.SetFunctionsOpenType();
        fonts[index] = font;
        return font;
    }

    private GlyphRun ShapeRun(int fontIndex, byte[] utf8, int start, int length, List<int> codepoints, float size, ref float x)
    {
        buffer.ClearContents();
        buffer.AddUtf8(utf8, start, length);
        buffer.GuessSegmentProperties();
        Font(fontIndex).Shape(buffer, Features);

        var infos = buffer.GetGlyphInfoSpan();
        var positions = buffer.GetGlyphPositionSpan();
        var scale = size / fontSet.Fonts[fontIndex].UnitsPerEm;
        var glyphs = new ushort[infos.Length];
        var points = new SKPoint[infos.Length];
        var clusters = new uint[infos.Length];
        for (var i = 0; i < infos.Length; i++)
        {
            glyphs[i] = (ushort)infos[i].Codepoint;
            points[i] = new SKPoint(x + (positions[i].XOffset * scale), -positions[i].YOffset * scale);
            clusters[i] = infos[i].Cluster - (uint)start;
            x += positions[i].XAdvance * scale;
        }

        return new GlyphRun(fontIndex, glyphs, points, utf8.AsSpan(start, length).ToArray(), clusters, [.. codepoints]);
    }
}
