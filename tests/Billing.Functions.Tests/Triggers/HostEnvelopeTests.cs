using System.Text.Json;
using Billing.Functions.Triggers;

namespace Billing.Functions.Tests.Triggers;

/// <summary>Payloads shaped exactly as the custom-handler reference shows the Functions host sending them.</summary>
public sealed class HostEnvelopeTests
{
    [Fact]
    public void A_queue_message_arrives_double_encoded_with_a_string_dequeue_count()
    {
        const string envelope = """
            { "Data": { "workItem": "\"{\\\"invoiceId\\\":\\\"inv_1\\\",\\\"attempt\\\":1}\"" },
              "Metadata": { "DequeueCount": "3", "Id": "\"800ae4b3-bdd2-4c08-badd-f08e5a34b865\"", "PopReceipt": "\"AgAAAAMA\"",
                "InsertionTime": "2026-01-05T10:00:00+00:00", "ExpirationTime": "2026-01-12T10:00:00+00:00",
                "invoiceId": "\"inv_1\"", "attempt": "1",
                "sys": { "MethodName": "invoice-pdf", "UtcNow": "2026-01-05T10:00:01Z", "RandGuid": "6d1c" } } }
            """;

        var message = HostEnvelope.ReadQueueInvocation(JsonDocument.Parse(envelope).RootElement);

        Assert.Equal("""{"invoiceId":"inv_1","attempt":1}""", message.Text);
        Assert.Equal(3, message.DequeueCount);
        Assert.Equal("800ae4b3-bdd2-4c08-badd-f08e5a34b865", message.Id);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 10, 0, 0, TimeSpan.Zero), message.InsertedAt);
    }

    [Fact]
    public void The_documented_single_encoded_form_with_numeric_dequeue_count_is_accepted_too()
    {
        const string envelope = """
            { "Data": { "myQueueItem": "{ message: \"Message sent\" }" },
              "Metadata": { "DequeueCount": 1, "ExpirationTime": "2019-10-16T17:58:31+00:00", "Id": "800ae4b3-bdd2-4c08-badd-f08e5a34b865",
                "InsertionTime": "2019-10-09T17:58:31+00:00", "NextVisibleTime": "2019-10-09T18:08:32+00:00", "PopReceipt": "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
                "sys": { "MethodName": "QueueTrigger", "UtcNow": "2019-10-09T17:58:32.2205399Z", "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9" } } }
            """;

        var message = HostEnvelope.ReadQueueInvocation(JsonDocument.Parse(envelope).RootElement);

        Assert.Equal("{ message: \"Message sent\" }", message.Text);
        Assert.Equal(1, message.DequeueCount);
        Assert.Equal("800ae4b3-bdd2-4c08-badd-f08e5a34b865", message.Id);
    }

    [Fact]
    public void A_plain_text_message_arrives_quoted_and_is_unquoted_once()
    {
        var message = HostEnvelope.ReadQueueInvocation(JsonDocument.Parse("""{"Data":{"m":"\"hello\""},"Metadata":{"DequeueCount":"1"}}""").RootElement);
        Assert.Equal("hello", message.Text);
    }

    [Fact]
    public void A_timer_invocation_reads_past_due_and_the_host_clock()
    {
        const string envelope = """
            { "Data": { "myTimer": {
                  "Schedule": { "AdjustForDST": true },
                  "ScheduleStatus": { "Last": "2026-01-05T02:00:00.0040000+00:00", "Next": "2026-01-06T02:00:00+00:00", "LastUpdated": "2026-01-05T02:00:00.0040000+00:00" },
                  "IsPastDue": true } },
              "Metadata": { "sys": { "MethodName": "renewals-run", "UtcNow": "2026-01-05T02:00:00.012Z", "RandGuid": "6d1c" } } }
            """;

        var timer = HostEnvelope.ReadTimerInvocation(JsonDocument.Parse(envelope).RootElement);

        Assert.True(timer.IsPastDue);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 2, 0, 0, 12, TimeSpan.Zero), timer.HostUtcNow);
    }

    [Fact]
    public void A_timer_without_schedule_status_still_runs()
    {
        var timer = HostEnvelope.ReadTimerInvocation(JsonDocument.Parse("""{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}""").RootElement);
        Assert.False(timer.IsPastDue);
        Assert.Null(timer.HostUtcNow);
    }

    [Fact]
    public void The_response_has_the_host_shape()
    {
        var response = HostEnvelope.Response(["done"]);
        Assert.Equal("""{"Outputs":{},"Logs":["done"],"ReturnValue":null}""", response.ToJsonString());
    }
}
