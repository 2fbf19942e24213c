"""Old webhook events are forgotten nightly (events.purge), with their deliveries and attempts,
unless one of their deliveries is still being retried."""

from datetime import timedelta

import pytest

from apps.core import clock, ids
from apps.events import tasks
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
from apps.events.webhooks.services import deliveries
from apps.events.webhooks.services.deliveries import EVENT_RETENTION
from tests.events.webhooks.helpers import emit, endpoint_create
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db


def _ended(event_id: str, status: str) -> WebhookDelivery:
    """The event's delivery, ended as ``status`` after one attempt."""
    delivery = WebhookDelivery.objects.get(event_id=ids.decode("evt", event_id))
    now = clock.now()
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery, number=1, requested_at=now, duration_ms=12, url="http://127.0.0.1:9/hook",
        response_status=200 if status == "succeeded" else 500, succeeded=status == "succeeded",
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, next_attempt_at=None, attempts=1,
        **({"delivered_at": now} if status == "succeeded" else {"failed_at": now}),
    )
    return delivery


def test_events_past_retention_are_forgotten_with_their_deliveries_and_attempts(time_machine):
    time_machine.move_to(clock.now() - EVENT_RETENTION - timedelta(days=1), tick=False)
    merchant = MerchantFactory()
    endpoint_create(merchant, events=["*"])
    delivered, given_up, still_retried = emit(merchant), emit(merchant), emit(merchant)
    _ended(delivered, "succeeded")
    _ended(given_up, "failed")
    time_machine.move_to(clock.now() + EVENT_RETENTION - timedelta(minutes=1), tick=False)
    recent = emit(merchant)  # older than a day, younger than the retention
    _ended(recent, "succeeded")
    time_machine.move_to(clock.now() + timedelta(days=1, minutes=1), tick=False)

    assert deliveries.webhook_events_purge(batch_size=1) == 2

    kept = {ids.encode("evt", pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)}
    assert kept == {still_retried, recent}
    assert WebhookDelivery.objects.count() == 2
    assert WebhookDeliveryAttempt.objects.count() == 1  # the recent event's
    assert deliveries.webhook_events_purge() == 0


def test_uuid7_floor_orders_ids_by_the_millisecond_they_were_made(time_machine):
    time_machine.move_to("2026-11-28T08:00:00+03:00", tick=False)
    before, at = ids.uuid7(), clock.now()
    time_machine.move_to("2026-11-28T08:00:00.001+03:00", tick=False)
    after = ids.uuid7()

    assert before >= ids.uuid7_floor(at) > ids.uuid7_floor(at - timedelta(milliseconds=1))
    assert after >= ids.uuid7_floor(at + timedelta(milliseconds=1)) > before


def test_the_nightly_purge_reports_what_it_forgot(time_machine):
    time_machine.move_to(clock.now() - EVENT_RETENTION - timedelta(days=1), tick=False)
    merchant = MerchantFactory()
    endpoint_create(merchant, events=["*"])
    _ended(emit(merchant), "succeeded")
    time_machine.move_to(clock.now() + EVENT_RETENTION + timedelta(days=1), tick=False)

    # The delivery's outbox message was never published (no relay ran): the outbox keeps it.
    assert tasks.purge() == {"outbox": 0, "inbox": 0, "webhook_events": 1}
