using System.Net;
using System.Text.Json.Nodes;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class CustomersApiTests(AppFixture fixture)
{
    private readonly HttpClient admin = fixture.App.Admin();

    [Fact]
    public async Task A_created_customer_can_be_read_back_with_every_field()
    {
        var created = await admin.PostJsonAsync("/api/customers", new
        {
            email = "yamada@example.jp",
            name = "山田太郎",
            billing_address = new { line1 = "1-1 Chiyoda", city = "Tokyo", postal_code = "100-0001", country = "jp" },
            preferred_currency = "JPY",
            time_zone = "Asia/Tokyo",
            tax_ids = new[] { new { type = "jp_cn", value = "1234567890123" } },
            metadata = new Dictionary<string, string> { ["crm_id"] = "42" },
        });

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal($"/api/customers/{created.Id()}", created.Response.Headers.Location?.OriginalString);
        Assert.StartsWith("cus_", created.Id(), StringComparison.Ordinal);
        var read = await admin.GetJsonAsync($"/api/customers/{created.Id()}");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal("customer", (string?)read.Body["object"]);
        Assert.Equal("山田太郎", (string?)read.Body["name"]);
        Assert.Equal("JP", (string?)read.Body["billing_address"]!["country"]);
        Assert.Equal("jpy", (string?)read.Body["preferred_currency"]);
        Assert.Equal("Asia/Tokyo", (string?)read.Body["time_zone"]);
        Assert.Equal("jp_cn", (string?)read.Body["tax_ids"]![0]!["type"]);
        Assert.Equal("42", (string?)read.Body["metadata"]!["crm_id"]);
        Assert.Equal(8, ((string?)read.Body["invoice_prefix"])!.Length);
    }

    [Fact]
    public async Task Patch_changes_given_fields_and_merges_metadata()
    {
        var id = await admin.CreateCustomerAsync(new { email = "a@example.com", name = "A", metadata = new Dictionary<string, string> { ["keep"] = "1", ["drop"] = "2" } });

        var patched = await admin.PatchJsonAsync($"/api/customers/{id}", new { name = "Αθηνά", metadata = new Dictionary<string, string> { ["drop"] = "", ["new"] = "3" } });

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal("Αθηνά", (string?)patched.Body["name"]);
        Assert.Equal("a@example.com", (string?)patched.Body["email"]);
        Assert.Equal("""{"keep":"1","new":"3"}""", patched.Body["metadata"]!.ToJsonString());
    }

    [Fact]
    public async Task Listing_pages_newest_first_with_a_cursor()
    {
        var mine = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            mine.Add(await admin.CreateCustomerAsync(new { name = $"Pager {i}" }));
        }

        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await admin.GetJsonAsync("/api/customers?limit=2" + (after is null ? "" : "&starting_after=" + after));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            var data = page.Body["data"]!.AsArray();
            Assert.InRange(data.Count, 0, 2);
            seen.AddRange(data.Select(c => (string)c!["id"]!));
            after = (bool)page.Body["has_more"]! ? seen[^1] : null;
        }
        while (after is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        var order = seen.Where(mine.Contains).ToList();
        Assert.Equal(Enumerable.Reverse(mine), order);
        Assert.Equal(seen.OrderByDescending(id => id, StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task Every_invalid_field_is_reported_in_one_problem()
    {
        var metadata = Enumerable.Range(0, 51).ToDictionary(i => $"k{i}", _ => "v");
        var errors = (await admin.PostJsonAsync("/api/customers", new
        {
            email = "nope",
            preferred_currency = "ZZZ",
            time_zone = "Mars/Olympus",
            billing_address = new { country = "XX" },
            tax_ids = new[] { new { type = "moon_vat", value = "" } },
            metadata,
        })).AssertProblem(HttpStatusCode.BadRequest);

        Assert.Equal(
            ["billing_address.country", "email", "metadata", "preferred_currency", "tax_ids[0].type", "tax_ids[0].value", "time_zone"],
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"email":"a@example.com","favourite_colour":"blue"}""", "favourite_colour", "Unknown field.")]
    [InlineData("""{"email":42}""", "email", "Has the wrong type or an out-of-range value.")]
    [InlineData("{\"metadata\":{\"k\":\"x", "metadata.k", "Is not valid JSON.")]
    public async Task Malformed_bodies_are_400_with_the_field(string body, string field, string message)
    {
        var errors = (await admin.PostJsonAsync("/api/customers", body)).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Equal(message, (string?)errors[field]![0]);
    }

    [Fact]
    public async Task Metadata_values_over_500_characters_are_rejected()
    {
        var errors = (await admin.PostJsonAsync("/api/customers", new { metadata = new Dictionary<string, string> { ["note"] = new string('x', 501) } }))
            .AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains("metadata.note", errors.Select(e => e.Key));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("starting_after=prod_01ABC", "starting_after")]
    public async Task Bad_paging_parameters_are_400(string query, string field)
    {
        var errors = (await admin.GetJsonAsync("/api/customers?" + query)).AssertProblem(HttpStatusCode.BadRequest);
        Assert.True(errors.ContainsKey(field));
    }

    [Fact]
    public async Task Unknown_and_malformed_ids_are_404()
    {
        (await admin.GetJsonAsync("/api/customers/cus_01AAAAAAAAAAAAAAAAAAAAAAAA")).AssertProblem(HttpStatusCode.NotFound);
        (await admin.GetJsonAsync("/api/customers/..%2F..%2Fetc")).AssertProblem(HttpStatusCode.NotFound);
        (await admin.PatchJsonAsync("/api/customers/cus_missing", new { name = "x" })).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deleting_keeps_the_record_and_blocks_new_sessions_and_changes()
    {
        var id = await admin.CreateCustomerAsync(new { email = "gone@example.com" });

        var deleted = await admin.DeleteJsonAsync($"/api/customers/{id}");

        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        Assert.True((bool)deleted.Body["deleted"]!);
        var read = await admin.GetJsonAsync($"/api/customers/{id}");
        Assert.Equal("gone@example.com", (string?)read.Body["email"]);
        Assert.Equal("customer_deleted", (string?)(await admin.PostJsonAsync($"/api/customers/{id}/sessions")).Body["code"]);
        (await admin.PatchJsonAsync($"/api/customers/{id}", new { name = "x" })).AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteJsonAsync($"/api/customers/{id}")).Status);
    }

    [Fact]
    public async Task Concurrent_patches_lose_no_update()
    {
        var id = await admin.CreateCustomerAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            fixture.App.Admin().PatchJsonAsync($"/api/customers/{id}", new { metadata = new Dictionary<string, string> { [$"k{i}"] = $"{i}" } })));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var final = await admin.GetJsonAsync($"/api/customers/{id}");
        var metadata = final.Body["metadata"]!.AsObject();
        Assert.Equal(16, metadata.Count);
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal($"{i}", (string?)metadata[$"k{i}"]));
    }

    [Fact]
    public async Task Responses_use_snake_case()
    {
        var id = await admin.CreateCustomerAsync(new { billing_address = new { postal_code = "75001", country = "FR" } });
        var body = (await admin.GetJsonAsync($"/api/customers/{id}")).Body.AsObject();
        Assert.All(body.Select(p => p.Key), key => Assert.Equal(key.ToLowerInvariant(), key));
        Assert.Equal("75001", (string?)body["billing_address"]!["postal_code"]);
        Assert.IsType<JsonObject>(body["metadata"]);
    }
}
