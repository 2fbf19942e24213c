"""Reads of webhooks. API callers always pass their own merchant id and mode: another merchant's
objects, and the other mode's, are as if they did not exist."""

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from apps.events.webhooks import event_types
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent


def webhook_event_types() -> list[event_types.EventType]:
    """Every event type endpoints may subscribe to (the catalogue), by name."""
    return sorted(event_types.EVENT_TYPES, key=lambda event_type: event_type.name)


def webhook_endpoint_list(*, merchant_id: Any, livemode: bool) -> QuerySet[WebhookEndpoint]:
    """The merchant's endpoints of one mode (deleted ones excluded)."""
    return WebhookEndpoint.objects.filter(merchant_id=merchant_id, livemode=livemode, deleted_at__isnull=True)


def webhook_endpoint_get(*, merchant_id: Any, livemode: bool, endpoint_id: Any) -> WebhookEndpoint | None:
    return webhook_endpoint_list(merchant_id=merchant_id, livemode=livemode).filter(pk=endpoint_id).first()


def webhook_event_list(
    *, merchant_id: Any, livemode: bool, event_type: str | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[WebhookEvent]:
    """The merchant's events of one mode; ``type`` matched exactly or as a ``payment.*`` prefix,
    ``since`` inclusive and ``until`` exclusive."""
    events = WebhookEvent.objects.filter(merchant_id=merchant_id, livemode=livemode)
    if event_type:
        if event_type.endswith(".*"):
            events = events.filter(type__startswith=event_type[:-1])
        else:
            events = events.filter(type=event_type)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events


def webhook_event_get(*, merchant_id: Any, livemode: bool, event_id: Any) -> WebhookEvent | None:
    return webhook_event_list(merchant_id=merchant_id, livemode=livemode).filter(pk=event_id).first()


def webhook_event_deliveries(*, event: WebhookEvent) -> QuerySet[WebhookDelivery]:
    """The event's deliveries, oldest first, each with its endpoint and attempts (two queries)."""
    return (
        WebhookDelivery.objects.filter(event=event).select_related("endpoint")
        .prefetch_related(Prefetch("attempt_set", queryset=WebhookDeliveryAttempt.objects.order_by("number")))
        .order_by("created_at", "id")
    )


def merchant_ids_with_failing_webhook_endpoints() -> QuerySet:
    """Merchants (ids) with an endpoint fincore disabled because its deliveries kept failing (and
    that nobody enabled or deleted since): what the merchant admin flags."""
    return (
        WebhookEndpoint.objects.filter(
            enabled=False, disabled_cause=WebhookEndpoint.DisabledCause.FAILING, deleted_at__isnull=True
        ).values("merchant_id")
    )


def webhook_endpoints_disabled_for_failing(*, merchant_id: Any) -> list[WebhookEndpoint]:
    return list(
        WebhookEndpoint.objects.filter(
            merchant_id=merchant_id, enabled=False, disabled_cause=WebhookEndpoint.DisabledCause.FAILING,
            deleted_at__isnull=True,
        ).order_by("disabled_at")
    )
