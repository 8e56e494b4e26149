using System.Security.Cryptography;
using Azure.Data.Tables;
using Billing.Functions.Storage;
using Billing.Functions.Tests.Infrastructure;

namespace Billing.Functions.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class JsonTableTests(AppFixture fixture)
{
    private sealed record Note(string Id, string Text, long Amount);

    [Fact]
    public async Task Records_of_a_kilobyte_or_more_are_stored_compressed_and_read_back_unchanged()
    {
        var table = await NewTableAsync();
        var small = new Note("small", "a short note", 1_999);
        var large = new Note("large", string.Concat(Enumerable.Repeat("{\"object\":\"invoice\",\"amount_due\":1999,\"currency\":\"usd\"} ", 200)), -250);

        await table.InsertAsync("p", "small", small, new Dictionary<string, object?> { ["Kind"] = "note" });
        await table.InsertAsync("p", "large", large, new Dictionary<string, object?> { ["Kind"] = "note" });

        var storedSmall = (await table.Client.GetEntityAsync<TableEntity>("p", "small")).Value;
        var storedLarge = (await table.Client.GetEntityAsync<TableEntity>("p", "large")).Value;
        Assert.IsType<string>(storedSmall["D0"]);
        Assert.False(storedSmall.ContainsKey("Z"));
        var compressed = Assert.IsType<byte[]>(storedLarge["Z"]);
        Assert.False(storedLarge.ContainsKey("D0"));
        Assert.True(compressed.Length * 10 < large.Text.Length, $"{compressed.Length} compressed bytes for {large.Text.Length} characters");
        Assert.Equal("note", storedLarge["Kind"]); // filter columns stay plain
        Assert.Equal(small, (await table.GetAsync<Note>("p", "small"))!.Value.Value);
        Assert.Equal(large, (await table.GetAsync<Note>("p", "large"))!.Value.Value);

        // Filters still see the plain columns of compressed rows.
        var listed = new List<Note>();
        await foreach (var entity in table.Client.QueryAsync<TableEntity>("Kind eq 'note'"))
        {
            listed.Add(JsonTable.FromEntity<Note>(entity));
        }

        Assert.Equal([large, small], listed);
    }

    [Fact]
    public async Task A_record_that_does_not_compress_below_64_KiB_is_split_into_string_chunks_instead()
    {
        var table = await NewTableAsync();
        var noise = new Note("noise", Convert.ToBase64String(RandomNumberGenerator.GetBytes(90_000)), 1);

        await table.InsertAsync("p", "noise", noise);

        var stored = (await table.Client.GetEntityAsync<TableEntity>("p", "noise")).Value;
        Assert.False(stored.ContainsKey("Z"));
        Assert.True(stored.ContainsKey("D3")); // 120,000 characters of JSON in 30,000-character chunks
        Assert.Equal(noise, (await table.GetAsync<Note>("p", "noise"))!.Value.Value);
    }

    [Fact]
    public async Task Rows_written_as_plain_json_before_compression_still_read()
    {
        var table = await NewTableAsync();
        var json = "{\"id\":\"old\",\"text\":\"" + new string('x', 5_000) + "\",\"amount\":42}";
        await table.Client.AddEntityAsync(new TableEntity("p", "old") { ["D0"] = json[..3_000], ["D1"] = json[3_000..] });

        var read = (await table.GetAsync<Note>("p", "old"))!.Value.Value;

        Assert.Equal(new Note("old", new string('x', 5_000), 42), read);
    }

    private async Task<JsonTable> NewTableAsync()
    {
        var table = new JsonTable(new TableClient(fixture.Azurite.ConnectionString, "json" + Guid.NewGuid().ToString("N")[..8]));
        await table.Client.CreateAsync();
        return table;
    }
}
