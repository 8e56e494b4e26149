using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Invoices;
using Billing.Functions.Tests.Infrastructure;
using Billing.Functions.Tests.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using UglyToad.PdfPig;
using Xunit.Abstractions;

namespace Billing.Functions.Tests.Invoices;

/// <summary>Editing and deleting drafts through the API: what changes, what is recomputed to the cent, and what is refused with nothing changed.</summary>
[Collection(AppCollection.Name)]
public sealed class DraftInvoiceEditingTests(AppFixture fixture, ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = new(2026, 1, 31, 9, 0, 0, TimeSpan.Zero);
    private readonly BillingApp app = ScriptedApp.For(fixture).App;

    private HttpClient Admin => app.Admin();

    private BillingScenario Given => new(Admin);

    /// <summary>A draft of seats (1999 × 2) and setup (501): subtotal 4499.</summary>
    private async Task<JsonNode> DraftAsync(string customer, object? extra = null, HttpClient? client = null)
    {
        var body = new JsonObject
        {
            ["customer"] = customer,
            ["currency"] = "usd",
            ["items"] = new JsonArray(
                new JsonObject { ["description"] = "Seats", ["unit_amount"] = 1999, ["quantity"] = 2 },
                new JsonObject { ["description"] = "Setup", ["unit_amount"] = 501, ["quantity"] = 1 }),
        };
        foreach (var (key, value) in extra is null ? [] : JsonSerializerHelper.ToObject(extra))
        {
            body[key] = value?.DeepClone();
        }

        var created = await (client ?? Admin).PostJsonAsync("/api/invoices", body.ToJsonString());
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Body;
    }

    private async Task<string> CouponAsync(object body)
    {
        var created = await Admin.PostJsonAsync("/api/coupons", body);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body.ToJsonString());
        return created.Id();
    }

    private async Task<string> ReadAsync(string invoice, HttpClient? client = null) => (await (client ?? Admin).GetJsonAsync($"/api/invoices/{invoice}")).Body.ToJsonString();

    private static IEnumerable<long> Amounts(JsonNode invoice, string field) => invoice["lines"]!.AsArray().Select(l => (long)l![field]!);

    [Fact]
    public async Task Patching_a_draft_changes_its_fields_recomputes_the_totals_and_the_pdf_carries_them()
    {
        var customer = await Given.CustomerAsync();
        var vat = await Given.TaxRateAsync(20m);
        var id = (string)(await DraftAsync(customer))["id"]!;

        var patched = await Admin.PatchJsonAsync($"/api/invoices/{id}", new
        {
            description = "January consulting",
            footer = "Pay by bank transfer to IBAN FR76 1234",
            collection_method = "send_invoice",
            days_until_due = 14,
            default_tax_rates = new[] { vat },
            metadata = new { po = "PO-42" },
        });

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        var body = patched.Body;
        Assert.Equal(("draft", "January consulting", "Pay by bank transfer to IBAN FR76 1234", "send_invoice", 14),
            ((string?)body["status"], (string?)body["description"], (string?)body["footer"], (string?)body["collection_method"], (int)body["days_until_due"]!));
        Assert.Equal([800L, 100], body["lines"]!.AsArray().Select(l => (long)l!["tax_amounts"]![0]!["amount"]!)); // 3998 × 20 % = 799.6 → 800; 501 → 100.2 → 100
        Assert.Equal((4499L, 900L, 5399L, 5399L), ((long)body["subtotal"]!, (long)body["total_tax"]!, (long)body["total"]!, (long)body["amount_due"]!));
        Assert.Equal([vat], body["default_tax_rates"]!.AsArray().Select(r => (string)r!));
        Assert.Equal("PO-42", (string?)body["metadata"]!["po"]);
        Assert.Equal(body.ToJsonString(), await ReadAsync(id));
        var updated = (await Admin.GetJsonAsync("/api/events?type=invoice.updated&limit=100")).Body["data"]!.AsArray();
        Assert.Contains(updated, e => (string?)e!["data"]!["id"] == id);

        var finalized = await Admin.PostJsonAsync($"/api/invoices/{id}/finalize");
        Assert.Equal(HttpStatusCode.OK, finalized.Status);
        Assert.Equal(((DateTimeOffset)finalized.Body["finalized_at"]!).AddDays(14), (DateTimeOffset)finalized.Body["due_date"]!);
        var pdf = await Admin.GetByteArrayAsync(new Uri($"/api/invoices/{id}/pdf", UriKind.Relative));
        using var document = PdfDocument.Open(pdf);
        var text = string.Concat(document.GetPages().SelectMany(p => p.Letters).Select(l => l.Value)).Replace(" ", "", StringComparison.Ordinal);
        Assert.Contains("PaybybanktransfertoIBANFR761234", text, StringComparison.Ordinal);
        Assert.Contains("Januaryconsulting", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_coupon_put_on_a_draft_is_its_own_discount_and_an_empty_coupon_removes_any_discount()
    {
        var customer = await Given.CustomerAsync();
        var loyalty = await CouponAsync(new { percent_off = 10, duration = "forever" });
        var launch = await CouponAsync(new { amount_off = 1000, currency = "usd", duration = "once" });
        await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = loyalty });
        var id = (string)(await DraftAsync(customer))["id"]!;

        var own = await Admin.PatchJsonAsync($"/api/invoices/{id}", new { coupon = launch });
        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal(launch, (string?)own.Body["discount"]!["coupon"]);
        Assert.Equal([889L, 111], own.Body["lines"]!.AsArray().Select(l => (long)l!["discount_amounts"]![0]!["amount"]!)); // 1000 split 3998 : 501
        Assert.Equal((1000L, 3499L), ((long)own.Body["total_discount"]!, (long)own.Body["total"]!));
        Assert.Equal(1, (int)(await Admin.GetJsonAsync($"/api/coupons/{launch}")).Body["times_redeemed"]!);

        var again = await Admin.PatchJsonAsync($"/api/invoices/{id}", new { coupon = launch });
        Assert.Equal(own.Body["total"]!.ToJsonString(), again.Body["total"]!.ToJsonString()); // the coupon it has: no change
        Assert.Equal(1, (int)(await Admin.GetJsonAsync($"/api/coupons/{launch}")).Body["times_redeemed"]!);

        var none = await Admin.PatchJsonAsync($"/api/invoices/{id}", new { coupon = "" });
        Assert.Equal(HttpStatusCode.OK, none.Status);
        Assert.Null(none.Body["discount"]);
        Assert.Equal((0L, 4499L), ((long)none.Body["total_discount"]!, (long)none.Body["total"]!));
        Assert.All(none.Body["lines"]!.AsArray(), l => Assert.Empty(l!["discount_amounts"]!.AsArray()));

        var back = await Admin.PatchJsonAsync($"/api/invoices/{id}", new { coupon = launch });
        back.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("coupon_already_redeemed", (string?)back.Body["code"]);
        Assert.Equal(none.Body.ToJsonString(), await ReadAsync(id));
        Assert.Equal(1, (int)(await Admin.GetJsonAsync($"/api/coupons/{launch}")).Body["times_redeemed"]!);
    }

    [Fact]
    public async Task A_draft_that_gives_up_the_customers_once_coupon_or_is_deleted_gives_its_use_back_to_the_next_invoice()
    {
        var customer = await Given.CustomerAsync();
        var welcome = await CouponAsync(new { percent_off = 20, duration = "once" });
        var other = await CouponAsync(new { percent_off = 5, duration = "once" });
        await Admin.PostJsonAsync($"/api/customers/{customer}/discount", new { coupon = welcome });

        var first = (string)(await DraftAsync(customer))["id"]!;
        Assert.Equal(welcome, (string?)(await Admin.GetJsonAsync($"/api/invoices/{first}")).Body["discount"]!["coupon"]);
        Assert.Null((await DraftAsync(customer))["discount"]); // used up by the first draft
        await Admin.PatchJsonAsync($"/api/invoices/{first}", new { coupon = other });

        var second = await DraftAsync(customer);
        Assert.Equal(welcome, (string?)second["discount"]!["coupon"]);
        Assert.Equal(900, (long)second["total_discount"]!); // 3998 × 20 % = 799.6 → 800; 501 → 100.2 → 100
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteJsonAsync($"/api/invoices/{second["id"]}")).Status);

        var third = await DraftAsync(customer);
        Assert.Equal(welcome, (string?)third["discount"]!["coupon"]);
        Assert.Equal(3599, (long)third["total"]!);
        var discount = (await Admin.GetJsonAsync($"/api/customers/{customer}")).Body["discount"]!;
        Assert.Equal(welcome, (string?)discount["coupon"]);
    }

    [Fact]
    public async Task Bad_edits_are_4xx_problems_and_change_nothing()
    {
        var customer = await Given.CustomerAsync();
        var id = (string)(await DraftAsync(customer))["id"]!;
        var euros = await CouponAsync(new { amount_off = 100, currency = "eur", duration = "once" });
        var before = await ReadAsync(id);

        (string Field, object Body)[] bad =
        [
            ("days_until_due", new { days_until_due = 10 }), // charge_automatically has no due date
            ("days_until_due", new { collection_method = "send_invoice" }),
            ("days_until_due", new { collection_method = "send_invoice", days_until_due = 731 }),
            ("due_date", new { collection_method = "send_invoice", due_date = DateTimeOffset.UtcNow.AddDays(-1) }),
            ("due_date", new { collection_method = "send_invoice", days_until_due = 3, due_date = DateTimeOffset.UtcNow.AddDays(9) }),
            ("coupon", new { coupon = "NO_SUCH_COUPON" }),
            ("coupon", new { coupon = euros }),
            ("default_tax_rates[0]", new { default_tax_rates = new[] { "txr_01ZZZZZZZZZZZZZZZZZZZZZZZZ" } }),
            ("description", new { description = new string('x', 1501) }),
            ("footer", new { footer = new string('x', 5001) }),
        ];
        foreach (var (field, body) in bad)
        {
            var answer = await Admin.PatchJsonAsync($"/api/invoices/{id}", body);
            Assert.True(answer.AssertProblem(HttpStatusCode.BadRequest).ContainsKey(field), $"{field}: {answer.Body.ToJsonString()}");
        }

        (await Admin.PatchJsonAsync($"/api/invoices/{id}", "{\"days_until_due\":\"soon\"}")).AssertProblem(HttpStatusCode.BadRequest);
        (await Admin.PatchJsonAsync($"/api/invoices/{id}", new { number = "X-1" })).AssertProblem(HttpStatusCode.BadRequest); // not editable: unknown field
        Assert.Contains("lines", (await Admin.PostJsonAsync($"/api/invoices/{id}/lines", new { lines = Array.Empty<object>() })).AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        Assert.Contains("lines[0].unit_amount", (await Admin.PostJsonAsync($"/api/invoices/{id}/lines", new { lines = new[] { new { description = "x" } } })).AssertProblem(HttpStatusCode.BadRequest).Select(e => e.Key));
        (await Admin.DeleteJsonAsync($"/api/invoices/{id}/lines/il_01ZZZZZZZZZZZZZZZZZZZZZZZZ")).AssertProblem(HttpStatusCode.NotFound);
        (await Admin.DeleteJsonAsync($"/api/invoices/{id}/lines/garbage")).AssertProblem(HttpStatusCode.NotFound);
        (await Admin.PatchJsonAsync("/api/invoices/in_01ZZZZZZZZZZZZZZZZZZZZZZZZ", new { description = "x" })).AssertProblem(HttpStatusCode.NotFound);
        (await Admin.DeleteJsonAsync("/api/invoices/in_01ZZZZZZZZZZZZZZZZZZZZZZZZ")).AssertProblem(HttpStatusCode.NotFound);

        Assert.Equal(before, await ReadAsync(id));
        Assert.Equal(0, (int)(await Admin.GetJsonAsync($"/api/coupons/{euros}")).Body["times_redeemed"]!);
    }

    [Fact]
    public async Task Nothing_finalized_can_be_edited_or_deleted_409_with_nothing_changed()
    {
        var customer = await Given.CustomerAsync();
        var coupon = await CouponAsync(new { percent_off = 50, duration = "once" });
        var id = (string)(await DraftAsync(customer))["id"]!;
        var line = (string)(await Admin.GetJsonAsync($"/api/invoices/{id}")).Body["lines"]![1]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostJsonAsync($"/api/invoices/{id}/finalize")).Status);
        var before = await ReadAsync(id);

        var answers = new[]
        {
            await Admin.PatchJsonAsync($"/api/invoices/{id}", new { description = "late" }),
            await Admin.PatchJsonAsync($"/api/invoices/{id}", new { coupon }),
            await Admin.PostJsonAsync($"/api/invoices/{id}/lines", new { lines = new[] { new { description = "late", unit_amount = 100 } } }),
            await Admin.DeleteJsonAsync($"/api/invoices/{id}/lines/{line}"),
            await Admin.DeleteJsonAsync($"/api/invoices/{id}"),
        };

        Assert.All(answers, a =>
        {
            a.AssertProblem(HttpStatusCode.Conflict);
            Assert.Equal("invoice_not_draft", (string?)a.Body["code"]);
        });
        Assert.Equal(before, await ReadAsync(id));
        Assert.Equal(0, (int)(await Admin.GetJsonAsync($"/api/coupons/{coupon}")).Body["times_redeemed"]!);
    }

    [Fact]
    public async Task Customer_tokens_cannot_edit_or_delete_drafts_not_even_their_own()
    {
        var owner = await Given.CustomerAsync();
        var other = await Given.CustomerAsync();
        var id = (string)(await DraftAsync(owner))["id"]!;
        var line = (string)(await Admin.GetJsonAsync($"/api/invoices/{id}")).Body["lines"]![0]!["id"]!;
        using var ownerClient = app.WithBearer(await Given.TokenAsync(owner));
        using var otherClient = app.WithBearer(await Given.TokenAsync(other));
        var before = await ReadAsync(id);

        foreach (var client in new[] { ownerClient, otherClient })
        {
            (await client.PatchJsonAsync($"/api/invoices/{id}", new { description = "mine" })).AssertProblem(HttpStatusCode.NotFound);
            (await client.PostJsonAsync($"/api/invoices/{id}/lines", new { lines = new[] { new { description = "x", unit_amount = -5000 } } })).AssertProblem(HttpStatusCode.NotFound);
            (await client.DeleteJsonAsync($"/api/invoices/{id}/lines/{line}")).AssertProblem(HttpStatusCode.NotFound);
            (await client.DeleteJsonAsync($"/api/invoices/{id}")).AssertProblem(HttpStatusCode.NotFound);
        }

        Assert.Equal(before, await ReadAsync(id));
        (await otherClient.GetJsonAsync($"/api/invoices/{id}")).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task One_off_lines_are_added_and_removed_with_exact_totals_and_parallel_additions_are_never_lost()
    {
        var customer = await Given.CustomerAsync();
        var vat = await Given.TaxRateAsync(20m);
        var reduced = await Given.TaxRateAsync(5.5m, name: "Reduced VAT");
        var id = (string)(await DraftAsync(customer, new { default_tax_rates = new[] { vat } }))["id"]!;

        var added = await Admin.PostJsonAsync($"/api/invoices/{id}/lines", new
        {
            lines = new object[]
            {
                new { description = "Training", unit_amount = 12345, quantity = 1, tax_rates = new[] { reduced } },
                new { description = "Goodwill credit", unit_amount = -1000, quantity = 1 },
            },
        });

        Assert.Equal(HttpStatusCode.OK, added.Status);
        Assert.Equal([3998L, 501, 12345, -1000], Amounts(added.Body, "amount"));
        Assert.Equal([800L, 100, 679, -200], added.Body["lines"]!.AsArray().Select(l => (long)l!["tax_amounts"]![0]!["amount"]!)); // 12345 × 5.5 % = 678.975 → 679
        Assert.Equal((15844L, 1379L, 17223L), ((long)added.Body["subtotal"]!, (long)added.Body["total_tax"]!, (long)added.Body["total"]!));
        var training = (string)added.Body["lines"]![2]!["id"]!;

        var removed = await Admin.DeleteJsonAsync($"/api/invoices/{id}/lines/{training}");
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal([3998L, 501, -1000], Amounts(removed.Body, "amount"));
        Assert.Equal((3499L, 700L, 4199L), ((long)removed.Body["subtotal"]!, (long)removed.Body["total_tax"]!, (long)removed.Body["total"]!));
        (await Admin.DeleteJsonAsync($"/api/invoices/{id}/lines/{training}")).AssertProblem(HttpStatusCode.NotFound);

        var parallel = await Task.WhenAll(Enumerable.Range(1, 10).Select(n => Task.Run(() =>
            Admin.PostJsonAsync($"/api/invoices/{id}/lines", new { lines = new[] { new { description = $"Hour {n}", unit_amount = 100 * n, quantity = 1 } } }))));

        Assert.All(parallel, a => Assert.True(a.Status == HttpStatusCode.OK, a.Body.ToJsonString()));
        var final = (await Admin.GetJsonAsync($"/api/invoices/{id}")).Body;
        Assert.Equal(13, final["lines"]!.AsArray().Count);
        Assert.Equal(Enumerable.Range(1, 10).Select(n => $"Hour {n}").Order(StringComparer.Ordinal),
            final["lines"]!.AsArray().Skip(3).Select(l => (string)l!["description"]!).Order(StringComparer.Ordinal));
        Assert.Equal(3499 + 5500, (long)final["subtotal"]!);
        Assert.Equal(700 + 1100, (long)final["total_tax"]!); // 20 % of 100 … 1000, each exact
        Assert.Equal(3499 + 5500 + 700 + 1100, (long)final["total"]!);
    }

    [Fact]
    public async Task Deleting_a_standalone_draft_removes_it_and_returns_the_prorations_it_billed_to_the_next_invoice()
    {
        var basic = await Given.PriceAsync(1000, productName: "Basic");
        var pro = await Given.PriceAsync(3000, productName: "Pro");
        var customer = await Given.CustomerAsync();
        var sub = await Given.SubscribeAsync(customer, basic);
        var start = (DateTimeOffset)sub["current_period_start"]!;
        var at = DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() + 11);
        var upgraded = await Admin.PatchJsonAsync($"/api/subscriptions/{sub["id"]}", new
        {
            items = new[] { new { id = (string)sub["items"]![0]!["id"]!, price = pro } },
            proration_behavior = "create_prorations",
            proration_date = at,
        });
        Assert.Equal(HttpStatusCode.OK, upgraded.Status);
        var draft = await DraftAsync(customer);
        var prorations = draft["lines"]!.AsArray().Where(l => (bool)l!["proration"]!).Select(l => ((string)l!["invoice_item"]!, (long)l["amount"]!)).ToList();
        Assert.Equal(2, prorations.Count);

        var deleted = await Admin.DeleteJsonAsync($"/api/invoices/{draft["id"]}");

        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        Assert.Equal(((string?)draft["id"], "invoice", true), ((string?)deleted.Body["id"], (string?)deleted.Body["object"], (bool)deleted.Body["deleted"]!));
        (await Admin.GetJsonAsync($"/api/invoices/{draft["id"]}")).AssertProblem(HttpStatusCode.NotFound);
        (await Admin.DeleteJsonAsync($"/api/invoices/{draft["id"]}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.DoesNotContain((string)draft["id"]!, (await Admin.GetJsonAsync($"/api/invoices?customer={customer}&limit=100")).Body["data"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.DoesNotContain((string)draft["id"]!, (await Admin.GetJsonAsync("/api/invoices?status=draft&limit=100")).Body["data"]!.AsArray().Select(i => (string)i!["id"]!));
        var events = (await Admin.GetJsonAsync("/api/events?type=invoice.deleted&limit=100")).Body["data"]!.AsArray();
        Assert.Contains(events, e => (string?)e!["data"]!["id"] == (string?)draft["id"]);

        var next = await Admin.PostJsonAsync("/api/invoices", new { customer, currency = "usd" });
        Assert.Equal(HttpStatusCode.Created, next.Status);
        Assert.Equal(prorations, next.Body["lines"]!.AsArray().Select(l => ((string)l!["invoice_item"]!, (long)l["amount"]!)));
        Assert.All(next.Body["lines"]!.AsArray(), l => Assert.Equal(at, (DateTimeOffset)l!["period"]!["start"]!));
        Assert.Equal(prorations.Sum(p => p.Item2), (long)next.Body["total"]!);
    }

    [Fact]
    public async Task A_subscription_draft_can_be_edited_but_not_deleted_nor_stripped_of_its_subscription_line()
    {
        var clock = await Admin.PostJsonAsync("/api/test-clocks", new { frozen_time = Start });
        var customer = await Admin.CreateCustomerAsync(new { name = "Paused", test_clock = clock.Id() });
        var price = await Given.PriceAsync(2000);
        var sub = await Given.SubscribeAsync(customer, price);
        var paused = await Admin.PatchJsonAsync($"/api/subscriptions/{sub["id"]}", new { pause_collection = new { behavior = "keep_as_draft" } });
        Assert.Equal(HttpStatusCode.OK, paused.Status);
        var advanced = await Admin.PostJsonAsync($"/api/test-clocks/{clock.Id()}/advance", new { frozen_time = Start.AddMonths(1).AddHours(1) });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body.ToJsonString());
        var renewal = (string)(await Admin.GetJsonAsync($"/api/subscriptions/{sub["id"]}")).Body["latest_invoice"]!;
        var draft = (await Admin.GetJsonAsync($"/api/invoices/{renewal}")).Body;
        Assert.Equal(("draft", (string?)sub["id"]), ((string?)draft["status"], (string?)draft["subscription"]));
        var subscriptionLine = (string)draft["lines"]![0]!["id"]!;

        var deleted = await Admin.DeleteJsonAsync($"/api/invoices/{renewal}");
        deleted.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("invoice_for_subscription", (string?)deleted.Body["code"]);
        var stripped = await Admin.DeleteJsonAsync($"/api/invoices/{renewal}/lines/{subscriptionLine}");
        stripped.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("line_not_removable", (string?)stripped.Body["code"]);
        var withLine = await Admin.PostJsonAsync($"/api/invoices/{renewal}/lines", new { lines = new[] { new { description = "Extra storage", unit_amount = 450, quantity = 2 } } });
        var described = await Admin.PatchJsonAsync($"/api/invoices/{renewal}", new { description = "February, with extra storage" });

        Assert.Equal(HttpStatusCode.OK, withLine.Status);
        Assert.Equal([2000L, 900], Amounts(withLine.Body, "amount"));
        Assert.Equal((2900L, "February, with extra storage"), ((long)described.Body["total"]!, (string?)described.Body["description"]));
        Assert.Equal("draft", (string?)described.Body["status"]);
    }

    [Fact]
    public async Task A_draft_holding_an_account_wide_number_reservation_is_not_deleted_and_is_finalized_with_that_number()
    {
        var settings = new Dictionary<string, string?> { ["Invoicing:Numbering"] = "account", ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("clm") };
        await using var numbered = BillingScenario.CreateApp(fixture, new ScriptedCollector(), settings);
        var admin = numbered.Admin();
        var customer = await new BillingScenario(admin).CustomerAsync();
        var id = (string)(await DraftAsync(customer, client: admin))["id"]!;
        // What a finalization that stopped right after reserving its number leaves behind.
        var (reserved, _) = await numbered.Services.GetRequiredService<AccountNumbering>().ReserveAsync(customer, id, DateTimeOffset.UtcNow);
        var before = (await admin.GetJsonAsync($"/api/invoices/{id}")).Body.ToJsonString();

        var deleted = await admin.DeleteJsonAsync($"/api/invoices/{id}");

        deleted.AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal("invoice_number_reserved", (string?)deleted.Body["code"]);
        Assert.Equal(before, (await admin.GetJsonAsync($"/api/invoices/{id}")).Body.ToJsonString());
        var finalized = await admin.PostJsonAsync($"/api/invoices/{id}/finalize");
        Assert.Equal(HttpStatusCode.OK, finalized.Status);
        Assert.Equal(reserved, (string?)finalized.Body["number"]);
    }

    [Fact]
    public async Task Racing_finalizations_and_deletions_of_the_same_drafts_never_leave_a_reserved_number_without_its_invoice()
    {
        var settings = new Dictionary<string, string?> { ["Invoicing:Numbering"] = "account", ["Storage:NamePrefix"] = DueWorkDriver.IsolatedPrefix("race") };
        var collector = new ScriptedCollector();
        await using var first = BillingScenario.CreateApp(fixture, collector, settings);
        await using var second = BillingScenario.CreateApp(fixture, collector, settings);
        var admin = first.Admin();
        var customer = await new BillingScenario(admin).CustomerAsync();
        var drafts = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            drafts.Add((string)(await DraftAsync(customer, client: admin))["id"]!);
        }

        var (finalizer, deleter) = (first.Admin(), second.Admin());
        var outcomes = await Task.WhenAll(drafts.Select(id => Task.Run(async () =>
        {
            var finalize = Task.Run(() => finalizer.PostJsonAsync($"/api/invoices/{id}/finalize"));
            var delete = Task.Run(() => deleter.DeleteJsonAsync($"/api/invoices/{id}"));
            return (Id: id, Finalize: await finalize, Delete: await delete);
        })));

        var numbers = new List<string>();
        var numbering = first.Services.GetRequiredService<Functions.Storage.TableInvoicingStore>();
        foreach (var (id, finalize, delete) in outcomes)
        {
            Assert.True(finalize.Status == HttpStatusCode.OK ^ delete.Status == HttpStatusCode.OK, $"{id}: finalize {finalize.Status}, delete {delete.Status}");
            var loser = finalize.Status == HttpStatusCode.OK ? delete : finalize;
            Assert.True(loser.Status is HttpStatusCode.NotFound or HttpStatusCode.Conflict, $"{id}: {loser.Status} {loser.Body.ToJsonString()}"); // a problem, never a 500
            var claim = await numbering.GetAsync<NumberReservation>(AccountNumbering.Partition, AccountNumbering.ClaimRow(id));
            var read = await admin.GetJsonAsync($"/api/invoices/{id}");
            if (delete.Status == HttpStatusCode.OK)
            {
                read.AssertProblem(HttpStatusCode.NotFound);
                Assert.Null(claim);
            }
            else
            {
                Assert.Equal((string?)finalize.Body["number"], (string?)read.Body["number"]);
                Assert.Equal((string?)read.Body["number"], claim!.Value.Number);
                numbers.Add(claim.Value.Number);
            }
        }

        output.WriteLine($"{outcomes.Length} races: {numbers.Count} finalized, {outcomes.Length - numbers.Count} deleted");
        var year = DateTimeOffset.UtcNow.Year;
        Assert.Equal(Enumerable.Range(1, numbers.Count).Select(n => $"INV-{year}-{n:D6}"), numbers.Order(StringComparer.Ordinal)); // gapless
    }
}
