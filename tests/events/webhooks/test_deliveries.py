"""Sending one delivery, in process, to a receiver on 127.0.0.1: what is sent, what is recorded,
and what is scheduled next. (The worker and beat versions are in test_e2e.py.)"""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.events.outbox.models import OutboxMessage
from apps.events.webhooks import selectors, signing, transport
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from apps.events.webhooks.services import deliveries, endpoints
from tests.events.webhooks.helpers import STAFF, emit, endpoint_create, running_receiver
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _send(delivery: WebhookDelivery) -> str:
    delivery.refresh_from_db()
    return deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=delivery.attempts)


def _only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


def test_a_delivery_posts_the_signed_envelope_and_records_the_attempt(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    with running_receiver([200]) as receiver:
        issued = endpoint_create(merchant, url=receiver.url)
        event_id = emit(merchant, data={"object": {"id": "pay_1", "object": "payment", "amount": 12500,
                                                   "currency": "BHD"}})
        delivery = _only_delivery()

        assert _send(delivery) == "succeeded"

    [request] = receiver.received
    assert request.path == "/hooks/fincore"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "id": event_id, "type": "payment.succeeded", "created": "2026-03-01T12:00:00+03:00", "livemode": False,
        "data": {"object": {"id": "pay_1", "object": "payment", "amount": 12500, "currency": "BHD"}},
    }
    header = request.headers[signing.SIGNATURE_HEADER]
    assert header.startswith(f"t={int(T0.timestamp())},v1=")
    assert signing.signature_verify(header=header, body=request.body, secret=issued.secret,
                                    now=int(T0.timestamp()))
    assert request.headers["Fincore-Delivery"] == ids.encode("whd", delivery.pk)
    assert request.headers["Fincore-Attempt"] == "1"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == ("succeeded", 1, 200)
    assert delivery.delivered_at == T0
    assert delivery.next_attempt_at is None and delivery.leased_until is None
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempt.number, attempt.response_status, attempt.error, attempt.succeeded) == (1, 200, "", True)
    assert attempt.response_body == '{"received": true}'
    assert attempt.url == receiver.url
    assert attempt.requested_at == T0


def test_a_copy_of_the_message_for_an_attempt_already_made_sends_nothing():
    merchant = MerchantFactory()
    with running_receiver([500]) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        delivery = _only_delivery()
        deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
        assert deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "attempt 0 already made"
    assert len(receiver.received) == 1


def test_a_delivery_leased_by_one_worker_is_not_sent_by_another():
    merchant = MerchantFactory()
    with running_receiver([200]) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        delivery = _only_delivery()
        claim = deliveries._claim(delivery_id=delivery.pk, attempt=0, now=datetime.now(UTC))
        assert isinstance(claim, deliveries._Claim)

        outcome = deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
        assert outcome == "being sent by another worker"
    assert receiver.received == []


def test_a_lease_that_ran_out_counts_as_a_lost_attempt_and_the_late_worker_records_nothing(time_machine):
    """A worker leased the delivery and never came back (killed mid-request): the next worker
    records that attempt as failed, with no outcome, and sends again."""
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    with running_receiver([200]) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        delivery = _only_delivery()
        stale = deliveries._claim(delivery_id=delivery.pk, attempt=0, now=T0)
        time_machine.move_to(T0 + deliveries.LEASE + timedelta(seconds=1), tick=False)
        assert deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "succeeded"
    late = transport.WebhookResponse(status=200, body_excerpt="", error="", duration_ms=5, address="127.0.0.1")
    assert deliveries._record(claim=stale, response=late, requested_at=T0) == "lease lost"
    lost, sent = WebhookDeliveryAttempt.objects.order_by("number")
    assert (lost.number, lost.response_status, lost.succeeded, lost.requested_at) == (1, None, False, T0)
    assert lost.error == deliveries.LOST_ATTEMPT
    assert (sent.number, sent.response_status, sent.succeeded) == (2, 200, True)
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["Fincore-Attempt"] == "2"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_workers_dying_on_a_delivery_cannot_keep_it_pending_past_3_days(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    endpoint_create(merchant)
    emit(merchant)
    delivery = _only_delivery()
    deliveries._claim(delivery_id=delivery.pk, attempt=0, now=T0)
    time_machine.move_to(T0 + timedelta(days=3, minutes=1), tick=False)
    outcome = deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
    assert outcome == "previous attempt lost; failed for good"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, deliveries.LOST_ATTEMPT)


def test_a_failed_attempt_is_recorded_and_retried_later_with_backoff(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    with running_receiver([503], answer=b"maintenance " * 200) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        delivery = _only_delivery()
        outcome = _send(delivery)

    delivery.refresh_from_db()
    assert outcome.startswith("failed; next attempt at")
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == ("pending", 1, 503)
    assert T0 + timedelta(seconds=22.5) <= delivery.next_attempt_at <= T0 + timedelta(seconds=30)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempt.response_status, attempt.succeeded) == (503, False)
    assert len(attempt.response_body) == transport.RESPONSE_EXCERPT_CHARS
    assert WebhookEndpoint.objects.get().failing_since == T0


def test_no_answer_is_recorded_as_an_error_without_a_status():
    merchant = MerchantFactory()
    with running_receiver() as receiver:
        url = receiver.url  # the port is closed once the receiver stops
    endpoint_create(merchant, url=url)
    emit(merchant)
    _send(_only_delivery())
    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.response_status is None
    assert attempt.error.startswith("could not connect")
    assert _only_delivery().last_error == attempt.error


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(monkeypatch):
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT_SECONDS", 0.3)
    merchant = MerchantFactory()
    with running_receiver([200], delay=1.0) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        _send(_only_delivery())
    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.response_status is None
    assert attempt.error == "timed out waiting for the response (after 0.3 s in all)"
    assert 300 <= attempt.duration_ms < 1000
    assert _only_delivery().status == "pending"


def test_https_is_spoken_to_the_checked_address_and_a_failed_handshake_is_an_error():
    """A live endpoint (https) whose server does not speak TLS: the handshake fails, nothing is sent."""
    merchant = MerchantFactory()
    with running_receiver([200]) as receiver:
        url = receiver.url.replace("http://", "https://")
        endpoint_create(merchant, url=url, livemode=True)
        emit(merchant, livemode=True)
        _send(_only_delivery())
    assert receiver.received == []
    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.response_status is None
    assert attempt.error.startswith(("TLS failed", "the connection broke", "request failed")), attempt.error


def test_redirects_are_not_followed():
    merchant = MerchantFactory()
    with running_receiver([302], headers={"Location": "http://127.0.0.1:9/elsewhere"}) as receiver:
        endpoint_create(merchant, url=receiver.url)
        emit(merchant)
        _send(_only_delivery())
    assert len(receiver.received) == 1
    assert WebhookDeliveryAttempt.objects.get().response_status == 302
    assert _only_delivery().status == "pending"


def test_a_delivery_to_an_endpoint_disabled_meanwhile_is_given_up_unsent():
    merchant = MerchantFactory()
    with running_receiver([200]) as receiver:
        endpoint = endpoint_create(merchant, url=receiver.url).endpoint
        emit(merchant)
        endpoints.webhook_endpoint_disable(endpoint_id=endpoint.pk, actor=STAFF, reason="merchant asked by phone")
        assert _send(_only_delivery()) == "endpoint disabled"
    assert receiver.received == []
    delivery = _only_delivery()
    assert delivery.status == "failed"
    assert "merchant asked by phone" in delivery.last_error


# --- the schedule -------------------------------------------------------------------------------

def test_retry_delays_double_from_30_seconds_up_to_6_hours():
    delays = [deliveries.retry_delay(attempts=n, jitter=0) for n in range(1, 13)]
    assert delays == [timedelta(seconds=30 * 2**k) for k in range(10)] + [timedelta(hours=6)] * 2
    assert deliveries.retry_delay(attempts=100, jitter=0) == timedelta(hours=6)


def test_jitter_shortens_a_delay_by_at_most_a_quarter():
    assert deliveries.retry_delay(attempts=3, jitter=1) == timedelta(seconds=90)
    assert deliveries.retry_delay(attempts=3, jitter=0.5) == timedelta(seconds=105)
    with pytest.raises(ValueError):
        deliveries.retry_delay(attempts=0, jitter=0)
    with pytest.raises(ValueError):
        deliveries.retry_delay(attempts=1, jitter=1.5)


def test_a_delivery_failing_for_3_days_fails_for_good_and_its_endpoint_is_disabled(time_machine, monkeypatch):
    """Attempts at 0 s, 30 s, 1.5 min, 3.5 min, ... (8.5 h after 11 attempts), then every 6 h, and
    the last one at exactly 3 days: 22 in all (without jitter)."""
    monkeypatch.setattr(deliveries.random, "random", lambda: 0.0)
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    with running_receiver([500]) as receiver:
        endpoint = endpoint_create(merchant, url=receiver.url).endpoint
        emit(merchant)
        delivery = _only_delivery()
        attempt_times = []
        while delivery.status == "pending":
            time_machine.move_to(delivery.next_attempt_at if attempt_times else T0, tick=False)
            attempt_times.append(datetime.now(UTC))
            _send(delivery)
            delivery.refresh_from_db()

    assert len(receiver.received) == len(attempt_times) == 22
    assert attempt_times[:4] == [T0 + timedelta(seconds=s) for s in (0, 30, 90, 210)]
    assert attempt_times[-1] == T0 + timedelta(days=3)
    assert all(later - earlier <= timedelta(hours=6) for earlier, later in itertools.pairwise(attempt_times))
    assert (delivery.status, delivery.failed_at, delivery.attempts) == ("failed", T0 + timedelta(days=3), 22)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_cause) == (False, "failing")
    assert endpoint.disabled_at == T0 + timedelta(days=3)
    assert endpoint.disabled_reason == "Every delivery since 2026-03-01 09:00 UTC failed (3 days without a success)."
    audit = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert (audit.actor_type, audit.actor_id, audit.merchant_id) == ("system", "webhooks", str(merchant.pk))
    assert audit.object_id == ids.encode("we", endpoint.pk)
    assert list(selectors.merchant_ids_with_failing_webhook_endpoints().values_list("merchant_id", flat=True)) == [
        merchant.pk
    ]
    assert selectors.webhook_endpoints_disabled_for_failing(merchant_id=merchant.pk) == [endpoint]


def test_one_success_resets_the_endpoints_failure_run(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    with running_receiver([500, 200, 500, 500]) as receiver:
        endpoint = endpoint_create(merchant, url=receiver.url).endpoint
        first, second = emit(merchant), emit(merchant)
        one, two = (WebhookDelivery.objects.get(event_id=ids.decode("evt", e)) for e in (first, second))
        _send(one)  # 500 at T0: the run starts
        time_machine.move_to(T0 + timedelta(days=1), tick=False)
        _send(two)  # 200: the run ends
        endpoint.refresh_from_db()
        assert endpoint.failing_since is None
        time_machine.move_to(T0 + timedelta(days=2), tick=False)
        _send(one)  # 500: a new run starts
        time_machine.move_to(T0 + timedelta(days=3, hours=1), tick=False)
        _send(one)  # 500 at 3 days of the delivery: it fails for good, but the endpoint's run is 1 day old
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since == T0 + timedelta(days=2)
    assert WebhookDelivery.objects.get(pk=one.pk).status == "failed"


def test_staff_re_enable_a_disabled_endpoint_with_a_reason_and_its_failures_start_over():
    merchant = MerchantFactory()
    endpoint = endpoint_create(merchant).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_at=T0, disabled_cause="failing", disabled_reason="3 days of failures",
        failing_since=T0 - timedelta(days=3),
    )
    with pytest.raises(endpoints.InvalidWebhookEndpoint):
        endpoints.webhook_endpoint_enable(endpoint_id=endpoint.pk, actor=STAFF, reason=" ")
    endpoints.webhook_endpoint_enable(endpoint_id=endpoint.pk, actor=STAFF, reason="receiver fixed, per ticket 7")
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_cause, endpoint.failing_since) == (True, "", None)
    audit = AuditEvent.objects.get(action="webhook_endpoint.enabled")
    assert audit.reason == "receiver fixed, per ticket 7"
    assert audit.before["status"] == "disabled" and audit.after["status"] == "enabled"
    with pytest.raises(endpoints.WebhookEndpointStateUnchanged):
        endpoints.webhook_endpoint_enable(endpoint_id=endpoint.pk, actor=STAFF, reason="again")
    assert not selectors.merchant_ids_with_failing_webhook_endpoints().exists()


# --- the sweep ----------------------------------------------------------------------------------

def test_the_sweep_hands_out_due_deliveries_once_until_they_are_due_again(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    endpoint_create(merchant)
    emit(merchant)
    delivery = _only_delivery()
    OutboxMessage.objects.all().delete()
    assert deliveries.webhook_deliveries_dispatch_due() == 0  # its first message is on its way

    time_machine.move_to(T0 + deliveries.REDISPATCH_AFTER, tick=False)
    assert deliveries.webhook_deliveries_dispatch_due() == 1
    assert deliveries.webhook_deliveries_dispatch_due() == 0
    message = OutboxMessage.objects.get()
    assert (message.task_name, message.queue, message.kwargs) == (
        "webhooks.deliver", "webhooks", {"delivery_id": str(delivery.pk), "attempt": 0}
    )
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + 2 * deliveries.REDISPATCH_AFTER


def test_the_sweep_skips_leased_and_finished_deliveries(time_machine):
    time_machine.move_to(T0, tick=False)
    merchant = MerchantFactory()
    endpoint_create(merchant)
    emit(merchant)
    emit(merchant)
    leased, done = WebhookDelivery.objects.order_by("created_at", "id")
    WebhookDelivery.objects.filter(pk=leased.pk).update(leased_until=T0 + timedelta(hours=1))
    WebhookDelivery.objects.filter(pk=done.pk).update(status="succeeded", delivered_at=T0, next_attempt_at=None)
    time_machine.move_to(T0 + timedelta(minutes=10), tick=False)
    assert deliveries.webhook_deliveries_dispatch_due() == 0


def test_the_webhook_sweep_is_scheduled_every_10_seconds_on_the_webhooks_queue():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="webhooks.deliver_due")
    assert (task.queue, task.interval.every, task.interval.period, task.enabled) == ("webhooks", 10, "seconds", True)


# --- redelivery ---------------------------------------------------------------------------------

def test_redelivery_is_a_new_manual_delivery_and_is_audited():
    merchant = MerchantFactory()
    endpoint = endpoint_create(merchant).endpoint
    event_id = emit(merchant)
    OutboxMessage.objects.all().delete()
    [redelivery] = deliveries.webhook_event_redeliver(event_id=ids.decode("evt", event_id), actor=STAFF,
                                                      reason="merchant lost it")
    assert (redelivery.endpoint_id, redelivery.manual, redelivery.requested_by) == (endpoint.pk, True,
                                                                                    "tests.webhooks")
    assert WebhookDelivery.objects.count() == 2
    message = OutboxMessage.objects.get()
    assert message.kwargs == {"delivery_id": str(redelivery.pk), "attempt": 0}
    assert message.priority == deliveries.REDELIVERY_PRIORITY
    audit = AuditEvent.objects.get(action="webhook_event.redelivered")
    assert audit.reason == "merchant lost it"
    assert json.loads(json.dumps(audit.after))["deliveries"] == [ids.encode("whd", redelivery.pk)]
