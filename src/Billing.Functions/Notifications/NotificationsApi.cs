using System.Security.Cryptography;
using Billing.Domain;
using Billing.Domain.Notifications;
using Billing.Functions.Auth;
using Billing.Functions.Http;
using Billing.Functions.Scheduling;
using Billing.Functions.Storage;
using Microsoft.Extensions.Options;

namespace Billing.Functions.Notifications;

/// <summary>
/// <c>/api/webhook-endpoints</c> (where the merchant receives events, with a delivery log per endpoint) and
/// <c>/api/events</c> (every event raised), admins only.
/// </summary>
public static class NotificationsApi
{
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NotificationsOptions>().Bind(configuration.GetSection(NotificationsOptions.Section));
        services.AddSingleton<NotificationStore>();
        services.AddSingleton<INotifier, Notifier>();
        services.AddSingleton<IWorkHandler, WebhookDeliveryHandler>();
        services.AddHttpClient(nameof(WebhookDeliveryHandler));
        services.AddSingleton(new StorageResource(StorageResourceKind.Table, NotificationStore.TableName));
        return services;
    }

    public static IEndpointRouteBuilder MapNotificationsApi(this IEndpointRouteBuilder routes)
    {
        var endpoints = routes.MapGroup("/api/webhook-endpoints").WithTags("Notifications").RequireAuthorization(AuthSetup.AdminPolicy);

        endpoints.MapPost("/", async (EndpointRequest body, NotificationStore store, IOptions<NotificationsOptions> options, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var now = clock.GetUtcNow();
            var secret = "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            var endpoint = WebhookEndpoint.Create(Ids.New(WebhookEndpoint.IdPrefix, now), body.Url, body.EnabledEvents, body.Description, secret, options.Value.AllowHttp, now);
            await store.CreateEndpointAsync(endpoint, cancellationToken);
            return TypedResults.Created($"/api/webhook-endpoints/{endpoint.Id}", EndpointResponse.From(endpoint, includeSecret: true));
        }).WithSummary("Register a URL for signed events; the response shows the signing secret once");

        endpoints.MapGet("/", async (HttpRequest request, NotificationStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, WebhookEndpoint.IdPrefix, errors);
            errors.ThrowIfAny();
            var page = await store.ListEndpointsAsync(paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<EndpointResponse>([.. page.Data.Select(e => EndpointResponse.From(e, false))], page.HasMore, "/api/webhook-endpoints"));
        }).WithSummary("List webhook endpoints");

        endpoints.MapGet("/{id}", async (string id, NotificationStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(EndpointResponse.From(await store.GetEndpointAsync(id, cancellationToken) ?? throw new NotFoundException("webhook endpoint", id), false)))
            .WithSummary("Retrieve a webhook endpoint");

        endpoints.MapPatch("/{id}", async (string id, EndpointUpdate body, NotificationStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(EndpointResponse.From(await store.UpdateEndpointAsync(id, e => e.Update(body.EnabledEvents, body.Disabled, body.Description), cancellationToken), false)))
            .WithSummary("Change subscribed events, description, or disable an endpoint");

        endpoints.MapDelete("/{id}", async (string id, NotificationStore store, CancellationToken cancellationToken) =>
        {
            await store.DeleteEndpointAsync(id, cancellationToken);
            return TypedResults.NoContent();
        }).WithSummary("Delete a webhook endpoint");

        endpoints.MapGet("/{id}/deliveries", async (string id, HttpRequest request, NotificationStore store, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, WebhookDelivery.IdPrefix, errors);
            errors.ThrowIfAny();
            _ = await store.GetEndpointAsync(id, cancellationToken) ?? throw new NotFoundException("webhook endpoint", id);
            var page = await store.ListDeliveriesAsync(id, paging.Limit, paging.StartingAfter, cancellationToken);
            return TypedResults.Ok(new ListResponse<WebhookDelivery>(page.Data, page.HasMore, $"/api/webhook-endpoints/{id}/deliveries"));
        }).WithSummary("The delivery log of an endpoint: every event, attempt, status code and next retry");

        var events = routes.MapGroup("/api/events").WithTags("Notifications").RequireAuthorization(AuthSetup.AdminPolicy);
        events.MapGet("/", async (HttpRequest request, NotificationStore store, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var errors = new ValidationErrors();
            var paging = Paging.From(request, BillingEvent.IdPrefix, errors);
            string? type = request.Query["type"];
            errors.AddIf(type is not null && !EventTypes.All.Contains(type), "type", "Unknown event type.");
            errors.ThrowIfAny();
            var page = await store.ListEventsAsync(paging.Limit, paging.StartingAfter, type, clock.GetUtcNow(), cancellationToken);
            return TypedResults.Ok(new ListResponse<EventResponse>([.. page.Data.Select(EventResponse.From)], page.HasMore, "/api/events"));
        }).WithSummary("List events, newest first (filter by type)");

        events.MapGet("/{id}", async (string id, NotificationStore store, CancellationToken cancellationToken) =>
            TypedResults.Ok(EventResponse.From(await store.GetEventAsync(id, cancellationToken) ?? throw new NotFoundException("event", id))))
            .WithSummary("Retrieve an event");
        return routes;
    }
}

/// <summary>Body of <c>POST /api/webhook-endpoints</c>.</summary>
public sealed record EndpointRequest(string? Url, IReadOnlyList<string>? EnabledEvents, string? Description);

/// <summary>Body of <c>PATCH /api/webhook-endpoints/{id}</c>.</summary>
public sealed record EndpointUpdate(IReadOnlyList<string>? EnabledEvents, bool? Disabled, string? Description);

/// <summary>A webhook endpoint on the wire; <c>secret</c> only in the creation response.</summary>
public sealed record EndpointResponse(string Id, Uri Url, IReadOnlyList<string> EnabledEvents, string? Description, string Status, string? Secret, DateTimeOffset Created)
{
    public string Object => "webhook_endpoint";

    public static EndpointResponse From(WebhookEndpoint e, bool includeSecret)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Url, e.EnabledEvents, e.Description, e.Disabled ? "disabled" : "enabled", includeSecret ? e.Secret : null, e.Created);
    }
}

/// <summary>An event on the wire; <c>data</c> is the object as the API shows it.</summary>
public sealed record EventResponse(string Id, string Type, string? Customer, System.Text.Json.JsonElement Data, DateTimeOffset Created)
{
    public string Object => "event";

    public static EventResponse From(BillingEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Type, e.CustomerId, System.Text.Json.JsonDocument.Parse(e.Data).RootElement.Clone(), e.Created);
    }
}
