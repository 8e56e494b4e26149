using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Billing.Domain.Customers;
using Billing.Domain.Scheduling;
using Billing.Domain.TestClocks;
using Billing.Functions.Scheduling;
using Billing.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Billing.Functions.Tests.Triggers;

[Collection(AppCollection.Name)]
public sealed class TestClockTests(AppFixture fixture)
{
    /// <summary>Records each item and the customer's clock time while it runs; schedules a follow-up once.</summary>
    private sealed class ClockProbe(IServiceProvider services) : IWorkHandler
    {
        public ConcurrentQueue<(string Target, DateTimeOffset SeenAt)> Seen { get; } = new();

        public string Kind => "test_clock_probe";

        public async Task HandleAsync(DueWork work, CancellationToken cancellationToken)
        {
            var customer = await services.GetRequiredService<ICustomerStore>().GetAsync(work.CustomerId, cancellationToken);
            var now = await services.GetRequiredService<IBillingClock>().NowForAsync(customer!, cancellationToken);
            Seen.Enqueue((work.TargetId, now));
            if (work.TargetId == "first")
            {
                await services.GetRequiredService<IScheduleStore>().ScheduleAsync(work with { TargetId = "follow_up", DueAt = now.AddDays(1) }, cancellationToken);
            }
        }
    }

    [Fact]
    public async Task Advancing_runs_due_work_in_order_each_at_its_due_time_and_stops_at_the_target()
    {
        ClockProbe? probe = null;
        await using var app = new BillingApp(fixture.Azurite.ConnectionString, services: s => s.AddSingleton<IWorkHandler>(sp => probe = new ClockProbe(sp)));
        var admin = app.Admin();
        var start = new DateTimeOffset(2026, 1, 31, 9, 0, 0, TimeSpan.Zero);
        var clock = await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = start, name = "January" });
        Assert.Equal(HttpStatusCode.Created, clock.Status);
        var customer = await admin.CreateCustomerAsync(new { name = "Timeline", test_clock = clock.Id() });
        Assert.Equal(clock.Id(), (string?)(await admin.GetJsonAsync($"/api/customers/{customer}")).Body["test_clock"]);
        var schedule = app.Services.GetRequiredService<IScheduleStore>();
        foreach (var (target, days) in new[] { ("third", 10), ("first", 2), ("far", 40) })
        {
            await schedule.ScheduleAsync(new DueWork { Kind = "test_clock_probe", CustomerId = customer, TargetId = target, DueAt = start.AddDays(days), ClockId = clock.Id() });
        }

        var advanced = await admin.PostJsonAsync($"/api/test-clocks/{clock.Id()}/advance", new { frozen_time = start.AddDays(15) });

        Assert.Equal(HttpStatusCode.OK, advanced.Status);
        Assert.Equal(3, (int)advanced.Body["work_run"]!);
        Assert.Equal("ready", (string?)advanced.Body["status"]);
        Assert.Equal(start.AddDays(15), DateTimeOffset.Parse((string)advanced.Body["frozen_time"]!, CultureInfo.InvariantCulture));
        Assert.Equal(
            [("first", start.AddDays(2)), ("follow_up", start.AddDays(3)), ("third", start.AddDays(10))],
            probe!.Seen.ToArray());
        Assert.Equal(["far"], (await schedule.ListForCustomerAsync(customer)).Select(w => w.TargetId));
        var listed = await admin.GetJsonAsync($"/api/customers/{customer}/schedule");
        var far = Assert.Single(listed.Body["data"]!.AsArray())!;
        Assert.Equal(("test_clock_probe", "far", clock.Id()), ((string?)far["kind"], (string?)far["target"], (string?)far["test_clock"]));
        Assert.Equal(start.AddDays(40), DateTimeOffset.Parse((string)far["due_at"]!, CultureInfo.InvariantCulture));
        Assert.Equal(0, await app.RunDueWorkAsync(DateTimeOffset.UtcNow.AddYears(1)));
    }

    [Fact]
    public async Task Clocks_only_move_forward_and_customers_only_join_at_creation()
    {
        var admin = fixture.App.Admin();
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = (await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = start })).Id();

        (await admin.PostJsonAsync($"/api/test-clocks/{clock}/advance", new { frozen_time = start.AddDays(-1) })).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.PostJsonAsync($"/api/test-clocks/{clock}/advance", new { frozen_time = start.AddYears(3) })).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.PostJsonAsync("/api/test-clocks", new { name = "no time" })).AssertProblem(HttpStatusCode.BadRequest);
        (await admin.PostJsonAsync("/api/customers", new { test_clock = "clock_01AAAAAAAAAAAAAAAAAAAAAAAA" })).AssertProblem(HttpStatusCode.BadRequest);
        var customer = await admin.CreateCustomerAsync(new { name = "Late joiner" });
        (await admin.PatchJsonAsync($"/api/customers/{customer}", new { test_clock = clock })).AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Test_clocks_are_404_when_disabled()
    {
        await using var production = new BillingApp(fixture.Azurite.ConnectionString, new Dictionary<string, string?> { ["TestClocks:Enabled"] = "false" });
        var admin = production.Admin();
        (await admin.PostJsonAsync("/api/test-clocks", new { frozen_time = DateTimeOffset.UtcNow })).AssertProblem(HttpStatusCode.NotFound);
        (await admin.PostJsonAsync("/api/customers", new { test_clock = "clock_01AAAAAAAAAAAAAAAAAAAAAAAA" })).AssertProblem(HttpStatusCode.BadRequest);
    }
}
