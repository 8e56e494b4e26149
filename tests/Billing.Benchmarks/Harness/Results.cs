using System.Globalization;
using System.Text.Json;

namespace Billing.Benchmarks.Harness;

/// <summary>One measured figure and, where the issue sets one, its target.</summary>
public sealed record Figure(string Scenario, string Metric, double Value, string Unit, string? Target, bool? Met, string? Note = null);

/// <summary>Collects figures, prints them as a table and writes them as JSON.</summary>
public sealed class Results
{
    private readonly List<Figure> figures = [];

    public IReadOnlyList<Figure> Figures => figures;

    public void Add(string scenario, string metric, double value, string unit, string? target = null, bool? met = null, string? note = null)
    {
        figures.Add(new Figure(scenario, metric, Math.Round(value, 2), unit, target, met, note));
        Console.WriteLine($"  {scenario,-14} {metric,-40} {value.ToString("0.##", CultureInfo.InvariantCulture),12} {unit,-10} {target ?? ""} {(met is null ? "" : met.Value ? "met" : "MISSED")}");
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"| {"Scenario",-14} | {"Metric",-40} | {"Value",12} | {"Unit",-10} | {"Target",-12} | {"",6} |");
        Console.WriteLine($"|{new string('-', 16)}|{new string('-', 42)}|{new string('-', 14)}|{new string('-', 12)}|{new string('-', 14)}|{new string('-', 8)}|");
        foreach (var f in figures)
        {
            Console.WriteLine($"| {f.Scenario,-14} | {f.Metric,-40} | {f.Value.ToString("0.##", CultureInfo.InvariantCulture),12} | {f.Unit,-10} | {f.Target ?? "",-12} | {(f.Met is null ? "" : f.Met.Value ? "met" : "MISSED"),6} |");
        }
    }

    public async Task WriteAsync(string path, IReadOnlyDictionary<string, string> machine)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, new { generated_at = DateTimeOffset.UtcNow, machine, figures }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
        Console.WriteLine($"Results written to {path}");
    }
}

/// <summary>Latency samples in milliseconds, with percentiles.</summary>
public sealed class Latencies
{
    private readonly List<double> samples = [];
    private readonly Lock gate = new();

    public int Count
    {
        get
        {
            lock (gate)
            {
                return samples.Count;
            }
        }
    }

    public void Add(double milliseconds)
    {
        lock (gate)
        {
            samples.Add(milliseconds);
        }
    }

    public double Percentile(double p)
    {
        lock (gate)
        {
            if (samples.Count == 0)
            {
                return double.NaN;
            }

            var sorted = samples.Order().ToArray();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
        }
    }

    public double Max => Percentile(100);
}
