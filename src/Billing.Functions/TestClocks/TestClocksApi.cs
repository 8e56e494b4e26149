using Billing.Domain;
using Billing.Domain.TestClocks;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Microsoft.Extensions.Options;

namespace Billing.Functions.TestClocks;

/// <summary>
/// <c>/api/test-clocks</c>: create a frozen clock, attach customers to it at creation (<c>test_clock</c>), and advance it:
/// the call runs everything that fell due on the way, in order, and answers when it has settled. Admin only; 404 when
/// test clocks are disabled (production).
/// </summary>
public static class TestClocksApi
{
    public static IServiceCollection AddTestClocks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TestClockOptions>().Bind(configuration.GetSection(TestClockOptions.Section));
        services.AddSingleton<TestClockStore>();
        services.AddSingleton<IBillingClock, BillingClock>();
        services.AddSingleton<TestClockAdvancer>();
        return services;
    }

    public static IEndpointRouteBuilder MapTestClocksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/test-clocks").WithTags("Test clocks").RequireAuthorization(AuthSetup.AdminPolicy)
            .AddEndpointFilter(async (context, next) =>
                context.HttpContext.RequestServices.GetRequiredService<IOptions<TestClockOptions>>().Value.Enabled
                    ? await next(context)
                    : throw new NotFoundException("resource", context.HttpContext.Request.Path));

        group.MapPost("/", async (TestClockRequest body, TestClockStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var now = clock.GetUtcNow();
            var created = TestClock.Create(Ids.New(TestClock.IdPrefix, now), body.Name, body.FrozenTime, now);
            await store.CreateAsync(created, cancellationToken);
            return TypedResults.Created($"/api/test-clocks/{created.Id}", TestClockResponse.From(created));
        }).WithSummary("Create a test clock frozen at a time");

        group.MapGet("/", async (HttpRequest request, TestClockStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, TestClock.IdPrefix, errors);
            errors.ThrowIfAny();
            var page = await store.ListAsync(paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<TestClockResponse>([.. page.Data.Select(TestClockResponse.From)], page.HasMore, "/api/test-clocks"));
        }).WithSummary("List test clocks");

        group.MapGet("/{id}", async (string id, TestClockStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(TestClockResponse.From(await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("test clock", id))))
            .WithSummary("Retrieve a test clock");

        group.MapPost("/{id}/advance", async (string id, TestClockRequest body, TestClockAdvancer advancer, CancellationToken cancellationToken) =>
        {
            var (advanced, ran) = await advancer.AdvanceAsync(id, body.FrozenTime, cancellationToken);
            return TypedResults.Ok(TestClockResponse.From(advanced) with { WorkRun = ran });
        }).WithSummary("Move the clock forward, running everything that falls due on the way; answers when settled");

        return routes;
    }
}

/// <summary>Body of <c>POST /api/test-clocks</c> and <c>…/advance</c>.</summary>
public sealed record TestClockRequest(DateTimeOffset? FrozenTime, string? Name);

/// <summary>A test clock on the wire; <c>work_run</c> counts the due work an advance ran.</summary>
public sealed record TestClockResponse(string Id, string? Name, DateTimeOffset FrozenTime, string Status, DateTimeOffset Created, int? WorkRun)
{
    public string Object => "test_clock";

    public static TestClockResponse From(TestClock c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new(c.Id, c.Name, c.FrozenTime, c.Status, c.Created, null);
    }
}
