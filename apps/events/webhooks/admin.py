import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin import reasoned_action
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_readonly import (
    CappedCountPaginator,
    PublicIdSearchMixin,
    ReadOnlyAdminMixin,
    ReadOnlyModelAdmin,
)
from apps.events.webhooks import selectors
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent
from apps.events.webhooks.services import deliveries, endpoints


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def _enable_endpoint(request: HttpRequest, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoints.webhook_endpoint_enable(endpoint_id=endpoint.pk, actor=Actor.staff(request.user), reason=reason)


def _disable_endpoint(request: HttpRequest, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoints.webhook_endpoint_disable(endpoint_id=endpoint.pk, actor=Actor.staff(request.user), reason=reason)


def _redeliver_event(request: HttpRequest, event: WebhookEvent, reason: str) -> None:
    deliveries.webhook_event_redeliver(event_id=event.pk, actor=Actor.staff(request.user), reason=reason)


def _redeliver_delivery(request: HttpRequest, delivery: WebhookDelivery, reason: str) -> None:
    deliveries.webhook_event_redeliver(
        event_id=delivery.event_id, endpoint_id=delivery.endpoint_id, actor=Actor.staff(request.user), reason=reason
    )


class EndpointStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("enabled", "Enabled"), ("disabled", "Disabled"), ("failing", "Disabled for failing"),
                ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "enabled":
            return queryset.filter(enabled=True)
        if value == "disabled":
            return queryset.filter(enabled=False, deleted_at__isnull=True)
        if value == "failing":
            return queryset.filter(enabled=False, deleted_at__isnull=True,
                                   disabled_cause=WebhookEndpoint.DisabledCause.FAILING)
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class EventTypeFilter(admin.SimpleListFilter):
    """The event types of the catalogue; any other type in the query string is an incorrect lookup."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(event_type.name, event_type.name) for event_type in selectors.webhook_event_types()]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in {event_type.name for event_type in selectors.webhook_event_types()}:
            raise IncorrectLookupParameters(f"{value!r} is not an event type")
        return queryset.filter(type=value)


class _WebhookPermissions:
    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("events.change_webhookendpoint")

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("events.change_webhookdelivery")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(CsvExportMixin, _WebhookPermissions, MerchantAdminMixin, PublicIdSearchMixin,
                           ReadOnlyModelAdmin):
    """A merchant's endpoints. Search: ``we_...``, ``mer_...`` or the merchant's legal name, the URL."""

    public_id_prefix = endpoints.ENDPOINT_PREFIX
    list_display = ("public_id", "url", "merchant_name", "livemode", "endpoint_status", "failing_since", "created_at")
    list_filter = (EndpointStatusFilter, "livemode", "disabled_cause")
    search_fields = ("url",)
    date_hierarchy = "created_at"
    fields = ("public_id", "merchant_name", "livemode", "url", "events", "description", "endpoint_status",
              "disabled_at", "disabled_cause", "disabled_reason", "failing_since", "secret_generation",
              "secret_rotated_at", "previous_secret_expires_at", "deleted_at", "created_at", "updated_at",
              "recent_deliveries")
    readonly_fields = fields
    actions = [
        reasoned_action(description="Re-enable (resume deliveries)", perform=_enable_endpoint,
                        permissions=("manage",)),
        reasoned_action(description="Disable (stop deliveries)", perform=_disable_endpoint, permissions=("manage",)),
    ]

    @admin.display(description="Status")
    def endpoint_status(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.status

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:events_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">Deliveries to this endpoint</a>', url, endpoint.pk)


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDelivery
    fields = ("endpoint", "status", "attempts", "next_attempt_at", "last_response_status", "last_error",
              "delivered_at", "manual", "requested_by")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("endpoint", "event")


@admin.register(WebhookEvent)
class WebhookEventAdmin(CsvExportMixin, _WebhookPermissions, MerchantAdminMixin, PublicIdSearchMixin,
                        ReadOnlyModelAdmin):
    """Events sent to merchants. Search: ``evt_...``, ``mer_...`` or the merchant's legal name, the type."""

    public_id_prefix = endpoints.EVENT_PREFIX
    list_display = ("public_id", "type", "merchant_name", "livemode", "created_at")
    list_filter = (EventTypeFilter, "livemode")
    search_fields = ("type",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = ("public_id", "type", "merchant_name", "livemode", "created_at", "payload")
    readonly_fields = fields
    inlines = (DeliveryInline,)
    actions = [reasoned_action(description="Redeliver to its endpoints", perform=_redeliver_event,
                               permissions=("redeliver",))]

    @admin.display(description="Data")
    def payload(self, event: WebhookEvent) -> str:
        return _pretty(event.data)


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDeliveryAttempt
    fields = ("number", "requested_at", "duration_ms", "url", "response_status", "error", "response_body",
              "succeeded")
    readonly_fields = fields
    extra = 0
    ordering = ("number",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CsvExportMixin, _WebhookPermissions, MerchantAdminMixin, PublicIdSearchMixin,
                           ReadOnlyModelAdmin):
    """Deliveries of events to endpoints. Search: its own id, the event's ``evt_...``, the endpoint's
    ``we_...``, ``mer_...`` or the merchant's legal name, the endpoint's URL."""

    public_id_prefix = endpoints.DELIVERY_PREFIX
    related_public_ids = (("evt", "event_id"), ("we", "endpoint_id"))
    merchant_lookup = "endpoint__merchant_id"
    list_display = ("public_id", "event", "endpoint", "merchant_name", "status", "attempts", "last_response_status",
                    "created_at")
    list_filter = ("status", "manual")
    list_select_related = ("event", "endpoint")
    search_fields = ("endpoint__url",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = ("public_id", "event", "endpoint", "merchant_name", "status", "attempts", "next_attempt_at",
              "leased_until", "last_response_status", "last_error", "delivered_at", "failed_at", "manual",
              "requested_by", "created_at")
    readonly_fields = fields
    inlines = (AttemptInline,)
    actions = [reasoned_action(description="Redeliver (a new delivery to the same endpoint)",
                               perform=_redeliver_delivery, permissions=("redeliver",))]
