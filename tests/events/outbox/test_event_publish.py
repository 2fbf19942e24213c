"""Events fan out through the outbox: one message per subscriber, each with its own id."""

import pytest
from django.db import transaction

from apps.events.outbox import subscriptions
from apps.events.outbox.models import OutboxMessage
from apps.events.outbox.services import event_publish
from tests.support.workers import drain, recorded, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "tests.parcel_shipped"


class Refused(Exception):
    pass


@pytest.fixture(autouse=True)
def _subscribers(monkeypatch):
    """Two subscribers on two queues, registered only for the test."""
    monkeypatch.setattr(subscriptions, "_subscriptions", {})
    subscriptions.subscribe(EVENT, task="tests.record_event", queue="default")
    subscriptions.subscribe(EVENT, task="tests.record_event", queue="ledger", priority=8)
    subscriptions.subscribe(EVENT, task="tests.record_event", queue="ledger", priority=8)  # twice: once


def _deliveries() -> list[tuple[str, str]]:
    """(event id, message id) of every delivery of EVENT a subscriber received."""
    return sorted(tuple(entry.split(":")[1:]) for entry in recorded() if entry.startswith(f"{EVENT}:"))


def test_an_event_reaches_each_subscriber_once_with_its_own_message_id(shared_worker):
    with transaction.atomic():
        messages = event_publish(event_type=EVENT, data={"parcel": "P-1"})

    assert [(m.task_name, m.queue, m.priority) for m in messages] == [
        ("tests.record_event", "default", 5), ("tests.record_event", "ledger", 8),
    ]
    default_message, ledger_message = messages
    assert default_message.message_id != ledger_message.message_id
    event = default_message.kwargs["event"]
    assert ledger_message.kwargs == {"event": event}
    assert (event["type"], event["data"]) == (EVENT, {"parcel": "P-1"})

    wait_until(lambda: len(_deliveries()) == 2, message="both subscribers")
    drain("default")
    drain("ledger")
    assert _deliveries() == sorted([
        (event["id"], str(default_message.message_id)), (event["id"], str(ledger_message.message_id)),
    ])
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()


def test_an_event_nobody_subscribes_to_writes_nothing():
    with transaction.atomic():
        assert event_publish(event_type="tests.nobody_listens", data={}) == []
    assert not OutboxMessage.objects.exists()


def test_an_event_of_a_rolled_back_transaction_reaches_nobody(shared_worker):
    with pytest.raises(Refused), transaction.atomic():
        assert len(event_publish(event_type=EVENT, data={"parcel": "P-2"})) == 2
        raise Refused

    assert not OutboxMessage.objects.exists()
    drain("default")
    drain("ledger")
    assert _deliveries() == []
