using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Triggers;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Triggers;

/// <summary>The function-app root (build output) and the app agree: no function without a handler, no handler without a function.</summary>
[Collection(AppCollection.Name)]
public sealed class FunctionMapTests(AppFixture fixture)
{
    private static readonly IReadOnlyList<FunctionDefinition> Functions = FunctionManifest.ReadFunctions(AppContext.BaseDirectory);

    [Fact]
    public void The_output_is_a_function_app_root()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "host.json")));
        Assert.Contains(Functions, f => f.TriggerType == "timerTrigger");
        Assert.Contains(Functions, f => f.TriggerType == "queueTrigger");
        Assert.Contains(Functions, f => f.TriggerType == "httpTrigger");
        Assert.All(Functions.Where(f => f.TriggerType == "httpTrigger"), f => Assert.Equal("anonymous", f.AuthLevel));
    }

    [Fact]
    public void Every_queue_and_timer_function_has_a_handler_and_every_handler_a_function()
    {
        var queues = fixture.App.Services.GetServices<IQueueFunction>().ToList();
        var timers = fixture.App.Services.GetServices<ITimerFunction>().ToList();

        Assert.Equal(
            Functions.Where(f => f.TriggerType == "queueTrigger").Select(f => $"{f.Name}:{f.QueueName}").Order(StringComparer.Ordinal),
            queues.Select(q => $"{q.FunctionName}:{q.QueueName}").Order(StringComparer.Ordinal));
        Assert.Equal(
            Functions.Where(f => f.TriggerType == "timerTrigger").Select(f => f.Name).Order(StringComparer.Ordinal),
            timers.Select(t => t.FunctionName).Order(StringComparer.Ordinal));
        Assert.All(Functions.Where(f => f.TriggerType == "timerTrigger"), f => Assert.Equal(6, f.Schedule!.Split(' ').Length));

        // The routes are mapped from the registrations (names known before the function is built): they must agree.
        Assert.Equal(
            queues.Select(q => $"{q.FunctionName}:{q.QueueName}:{q.GetType().Name}").Order(StringComparer.Ordinal),
            fixture.App.Services.GetServices<QueueFunctionRoute>().Select(r => $"{r.FunctionName}:{r.QueueName}:{r.Implementation.Name}").Order(StringComparer.Ordinal));
        Assert.Equal(
            timers.Select(t => $"{t.FunctionName}:{t.GetType().Name}").Order(StringComparer.Ordinal),
            fixture.App.Services.GetServices<TimerFunctionRoute>().Select(r => $"{r.FunctionName}:{r.Implementation.Name}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_api_endpoint_is_reachable_through_exactly_one_http_function_and_every_http_function_reaches_the_app()
    {
        var endpoints = fixture.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: SamplePath(e.RoutePattern))))
            .ToList();
        var http = Functions.Where(f => f.TriggerType == "httpTrigger")
            .Select(f => (Function: f, Matcher: new TemplateMatcher(TemplateParser.Parse("api/" + f.Route), new RouteValueDictionary())))
            .ToList();

        foreach (var (method, path) in endpoints)
        {
            var matches = http.Where(h => h.Matcher.TryMatch(path, new RouteValueDictionary()) && h.Function.Methods.Contains(method)).Select(h => h.Function.Name).ToList();
            Assert.True(matches.Count == 1, $"{method} {path} is served by {matches.Count} HTTP functions: {string.Join(", ", matches)}");
        }

        foreach (var (function, matcher) in http)
        {
            Assert.True(
                endpoints.Any(e => matcher.TryMatch(e.Path, new RouteValueDictionary()) && function.Methods.Contains(e.Method)),
                $"HTTP function {function.Name} ({function.Route}) reaches no app endpoint");
            Assert.All(function.Methods, m => Assert.Contains(endpoints, e => e.Method == m && matcher.TryMatch(e.Path, new RouteValueDictionary())));
        }
    }

    private static string SamplePath(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "x_" + parameter.Name,
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        }))));
}
