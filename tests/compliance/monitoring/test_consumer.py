"""Payments' outbox events reach monitoring on the compliance queue through the real broker and a
real worker; a redelivered event raises nothing twice."""

import uuid

import pytest
from django.db import transaction

from apps.compliance.models import Alert, MonitoredEvent
from apps.core import clock, ids
from apps.events.outbox.services import event_publish
from tests.compliance.monitoring.helpers import profile, rule
from tests.support.workers import purge_all_queues, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_succeeded_payment_event_is_evaluated_once_however_often_it_is_delivered():
    purge_all_queues()
    merchant, large = profile(), rule("large_amount", {"amount": 100})
    payment_id = uuid.uuid4()
    obj = {"id": ids.encode("pay", payment_id), "object": "payment", "livemode": True, "status": "succeeded",
           "amount": 100, "currency": "BHD", "country": "BH", "method": "card",
           "payment_method": {"type": "card", "token": "tok_success"}, "created": clock.now().isoformat()}
    with running_worker("compliance"):
        for _ in range(2):  # published twice: a second delivery of the same payment's outcome
            with transaction.atomic():
                event_publish(event_type="payments.payment_succeeded",
                              data={"object": obj, "merchant_id": str(merchant.merchant_id)})
        wait_until(lambda: MonitoredEvent.objects.filter(source_id=str(payment_id)).exists(),
                   message="the payment recorded")
        wait_until(lambda: Alert.objects.filter(rule=large).exists(), message="the alert")
    alert, = Alert.objects.filter(rule=large)
    assert alert.event_key == f"payments.payment:{payment_id}"
    event = MonitoredEvent.objects.get(source_id=str(payment_id))
    assert len(event.card_fingerprint) == 64 and event.card_fingerprint != "tok_success"
