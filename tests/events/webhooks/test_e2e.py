"""End to end: a real worker on the ``webhooks`` queue delivers, signed, to a receiver on
127.0.0.1; a failing receiver is retried through the ``endpoints.deliver_due`` sweep until it
answers 2xx; two copies of one message send once."""

from datetime import timedelta

import pytest
from django.db import transaction

from apps.core import clock, ids
from apps.events.webhooks import signing
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt
from apps.events.webhooks.services import deliveries, endpoints
from tests.events.webhooks.helpers import STAFF, running_receiver
from tests.factories.merchants import MerchantFactory
from tests.support.workers import drain, publish, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _emit(merchant, *, data: dict) -> str:
    with transaction.atomic():
        return deliveries.webhook_event_emit(
            merchant_id=merchant.pk, livemode=False, event_type="payment.succeeded", data=data
        )


def _verified(request, secret: str) -> bool:
    header = request.headers[signing.SIGNATURE_HEADER]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    return signing.signature_verify(header=header, body=request.body, secret=secret,
                                    now=int(clock.now().timestamp())) and timestamp > 0


def test_a_worker_delivers_a_signed_event_and_retries_a_failing_receiver_through_the_sweep():
    merchant = MerchantFactory()
    with running_receiver([500, 200]) as receiver, running_worker("webhooks") as worker:
        issued = endpoints.webhook_endpoint_create(
            merchant_id=merchant.pk, livemode=False, url=receiver.url, events=["payment.succeeded"], actor=STAFF
        )
        event_id = _emit(merchant, data={"object": {"id": "pay_1", "object": "payment", "amount": 12500,
                                                    "currency": "BHD"}})

        wait_until(lambda: WebhookDeliveryAttempt.objects.count() == 1, message="the first attempt")
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_response_status) == ("pending", 1, 500)
        assert delivery.next_attempt_at > clock.now()  # 22.5 to 30 s away

        # The retry falls due (as if its 30 s had passed) and beat runs the sweep.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now() - timedelta(seconds=1))
        publish("webhooks.deliver_due", queue="webhooks")

        wait_until(lambda: WebhookDelivery.objects.get().status == "succeeded", message="the retried delivery")
        assert worker.is_alive()

    first, second = receiver.received
    assert first.body == second.body
    assert first.json["id"] == event_id
    assert first.json["data"] == {"object": {"id": "pay_1", "object": "payment", "amount": 12500, "currency": "BHD"}}
    assert _verified(first, issued.secret) and _verified(second, issued.secret)
    assert (first.headers["Fincore-Attempt"], second.headers["Fincore-Attempt"]) == ("1", "2")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_response_status, delivery.next_attempt_at) == (2, 200, None)
    assert [(a.number, a.response_status, a.succeeded) for a in delivery.attempt_set.order_by("number")] == [
        (1, 500, False), (2, 200, True)
    ]


def test_two_copies_of_one_delivery_message_send_once():
    merchant = MerchantFactory()
    with running_receiver([200], delay=1.0) as receiver:
        endpoints.webhook_endpoint_create(
            merchant_id=merchant.pk, livemode=False, url=receiver.url, events=["*"], actor=STAFF
        )
        _emit(merchant, data={"object": {"id": "pay_2", "object": "payment"}})
        delivery = WebhookDelivery.objects.get()
        # The outbox's message, plus a duplicate (as a sweep racing the relay would publish).
        publish("webhooks.deliver", queue="webhooks", delivery_id=str(delivery.pk), attempt=0)
        with running_worker("webhooks", concurrency=2):
            wait_until(lambda: WebhookDelivery.objects.get().status == "succeeded", message="the delivery")
            publish("webhooks.deliver", queue="webhooks", delivery_id=str(delivery.pk), attempt=0)
            wait_until(lambda: len(receiver.received) >= 1, message="the request")
            # Both copies (and a late third) have been handled once the marker behind them ran.
            drain("webhooks")
    assert len(receiver.received) == 1
    assert WebhookDeliveryAttempt.objects.count() == 1
    assert receiver.received[0].headers["Fincore-Delivery"] == ids.encode("whd", delivery.pk)


def test_a_worker_killed_while_sending_leaves_the_delivery_to_be_retried():
    """The worker dies while the receiver is still answering: its lease runs out, the attempt is
    recorded as lost, and the next worker sends again (the receiver may see the event twice: it
    deduplicates on the event id)."""
    merchant = MerchantFactory()
    with running_receiver([200], delay=3.0) as receiver:
        issued = endpoints.webhook_endpoint_create(
            merchant_id=merchant.pk, livemode=False, url=receiver.url, events=["*"], actor=STAFF
        )
        with running_worker("webhooks") as doomed:
            event_id = _emit(merchant, data={"object": {"id": "pay_3", "object": "payment"}})
            wait_until(lambda: len(receiver.received) == 1, message="the request in flight")
            doomed.kill()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        assert delivery.lease_token is not None
        # As if the lease (60 s) and the redispatch delay (2 min) had passed.
        past = clock.now() - timedelta(seconds=1)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(leased_until=past, next_attempt_at=past)

        with running_worker("webhooks"):
            publish("webhooks.deliver_due", queue="webhooks")
            wait_until(lambda: WebhookDelivery.objects.get().status == "succeeded", message="the retried delivery")
            drain("webhooks")

    lost, sent = WebhookDeliveryAttempt.objects.order_by("number")
    assert (lost.number, lost.error, lost.response_status) == (1, deliveries.LOST_ATTEMPT, None)
    assert (sent.number, sent.response_status) == (2, 200)
    assert len(receiver.received) == 2
    assert {request.json["id"] for request in receiver.received} == {event_id}
    assert all(_verified(request, issued.secret) for request in receiver.received)
