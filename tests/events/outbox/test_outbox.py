"""The transactional outbox: a message leaves only if its transaction committed, and then it
always leaves, even if the process died between the commit and the publish."""

import threading
from datetime import timedelta
from uuid import UUID

import pytest
import time_machine
from django.db import connection, transaction

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.ids import uuid7
from apps.events.outbox.models import OutboxMessage
from apps.events.outbox.services import SWEEP_LEASE, outbox_enqueue, outbox_sweep
from tests.support.outbox import after_sweep_grace
from tests.support.workers import (
    broker_unreachable,
    drain,
    queue_depth,
    recorded,
    run_django_process,
    running_worker,
    take_message,
    wait_until,
)


class Refused(Exception):
    pass


def _unpublished(label: str, *, age: timedelta, claimed_until=None) -> OutboxMessage:
    """An outbox row as a writer that crashed before publishing would have left it."""
    return OutboxMessage.objects.create(
        message_id=uuid7(), task_name="tests.record", kwargs={"label": label}, queue="settlement", priority=5,
        created_at=clock.now() - age, claimed_until=claimed_until,
    )


def _published_labels() -> list[str]:
    labels = []
    while (message := take_message("settlement")) is not None:
        labels.append(message.kwargs["label"])
    return labels


# --- refusals --------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_outbox_enqueue_outside_a_transaction_is_refused():
    # In autocommit the row would be committed on its own, with no business change to follow.
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox_enqueue(task="tests.record", kwargs={"label": "loose"}, queue="settlement")
    assert not OutboxMessage.objects.exists()
    assert queue_depth("settlement") == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("queue", "priority", "error"), [
    ("payment", 5, "unknown queue 'payment'"),
    ("settlement.dead", 5, "unknown queue 'settlement.dead'"),
    ("settlement", -1, "priority must be 0..9"),
    ("settlement", 10, "priority must be 0..9"),
])
def test_outbox_enqueue_refuses_an_unknown_queue_or_priority(queue, priority, error):
    with pytest.raises(ValueError, match=error), transaction.atomic():
        outbox_enqueue(task="tests.record", kwargs={"label": "bad"}, queue=queue, priority=priority)
    assert not OutboxMessage.objects.exists()


# --- commit and rollback ---------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_committed_message_is_published_right_after_commit_with_its_id_and_priority():
    with transaction.atomic():
        message = outbox_enqueue(task="tests.record", kwargs={"label": "captured"}, queue="settlement", priority=7)
        # Nothing leaves before the commit: the transaction could still roll back.
        assert queue_depth("settlement") == 0

    queued = take_message("settlement")
    assert queued is not None
    assert (UUID(queued.task_id), queued.task_name, queued.kwargs, queued.priority) == (
        message.message_id, "tests.record", {"label": "captured"}, 7
    )
    assert queued.headers["fincore_publication"] == str(message.pk)
    message.refresh_from_db()
    assert message.published_at is not None
    assert (message.publish_attempts, message.last_error, message.claimed_until) == (0, "", None)
    assert take_message("settlement") is None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_publishes_nothing(shared_worker):
    with pytest.raises(Refused), transaction.atomic():
        outbox_enqueue(task="tests.record", kwargs={"label": "rolled back"}, queue="settlement")
        outbox_enqueue(task="tests.record", kwargs={"label": "rolled back"}, queue="default")
        raise Refused

    assert not OutboxMessage.objects.exists()
    assert queue_depth("settlement") == 0
    drain("default")  # whatever was published to default has run by now
    assert "rolled back" not in recorded()


# --- crash between commit and publish ------------------------------------------------------

CRASH_AFTER_COMMIT = """
    import os
    from django.db import transaction
    from apps.core import context
    from apps.events.outbox.services import outbox_enqueue

    with context.bound(request_id="req_crashed_writer"), transaction.atomic():
        # on_commit callbacks run in the order they were registered: this one kills the process
        # right after COMMIT, before the outbox's own callback could publish.
        transaction.on_commit(lambda: os._exit(9))
        outbox_enqueue(task="tests.journal_once", kwargs={"note": "survivor"}, queue="webhooks")
    print("still alive")
"""


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_publish_loses_nothing():
    crashed = run_django_process(CRASH_AFTER_COMMIT)
    assert crashed.returncode == 9, crashed.stderr
    assert "still alive" not in crashed.stdout

    message = OutboxMessage.objects.get()
    assert (message.task_name, message.queue, message.published_at) == ("tests.journal_once", "webhooks", None)
    assert message.request_id == "req_crashed_writer"
    assert queue_depth("webhooks") == 0

    assert outbox_sweep() == 0  # within the grace period the writer's relay may still be at it
    with after_sweep_grace():
        assert outbox_sweep() == 1
    assert queue_depth("webhooks") == 1
    message.refresh_from_db()
    assert message.published_at is not None
    assert (message.publish_attempts, message.last_error) == (1, "")

    with running_worker("webhooks"):
        wait_until(lambda: "survivor:acted" in recorded(), message="the swept message to run")
        drain("webhooks")
    with after_sweep_grace():
        assert outbox_sweep() == 0  # published once, never again

    assert [entry for entry in recorded() if entry.startswith("survivor")] == ["survivor:acted"]
    journal = AuditEvent.objects.get(action="tests.probe")
    assert journal.object_id == "survivor"
    # The worker ran with the request id of the transaction that wrote the message.
    assert journal.request_id == "req_crashed_writer"


# --- the sweep -------------------------------------------------------------------------------

def _hold_row_lock(outbox_id: int, locked: threading.Event, release: threading.Event) -> None:
    """Another sweeper, in the middle of leasing a row (its transaction still open)."""
    try:
        with transaction.atomic():
            OutboxMessage.objects.select_for_update().get(pk=outbox_id)
            locked.set()
            release.wait(30)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_publishes_only_old_unleased_messages():
    young = _unpublished("young", age=timedelta(seconds=1))
    leased = _unpublished("leased", age=timedelta(minutes=1), claimed_until=clock.now() + timedelta(seconds=30))
    being_leased = _unpublished("being leased", age=timedelta(minutes=1))
    lease_expired = _unpublished("lease expired", age=timedelta(minutes=2),
                                 claimed_until=clock.now() - timedelta(seconds=1))

    locked, release = threading.Event(), threading.Event()
    other_sweeper = threading.Thread(target=_hold_row_lock, args=(being_leased.pk, locked, release))
    other_sweeper.start()
    try:
        assert locked.wait(10)
        # skip_locked: the row another sweeper is leasing is skipped, not waited for.
        assert outbox_sweep() == 1
    finally:
        release.set()
        other_sweeper.join(10)
    assert _published_labels() == ["lease expired"]

    assert outbox_sweep() == 1  # the other sweeper let go without leasing it
    assert _published_labels() == ["being leased"]

    with after_sweep_grace():
        assert outbox_sweep() == 1
    assert _published_labels() == ["young"]

    with time_machine.travel(clock.now() + SWEEP_LEASE, tick=True):
        assert outbox_sweep() == 1
    assert _published_labels() == ["leased"]

    assert set(OutboxMessage.objects.values_list("publish_attempts", flat=True)) == {1}
    for message in (young, leased, being_leased, lease_expired):
        message.refresh_from_db()
        assert message.published_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_leaves_the_message_for_the_sweep_with_the_error():
    with broker_unreachable():
        with transaction.atomic():
            # The relay fails after commit; the writer's transaction is already safe and the
            # caller sees no error.
            message = outbox_enqueue(task="tests.record", kwargs={"label": "delayed"}, queue="settlement")
        message.refresh_from_db()
        assert message.published_at is None
        assert "Connection refused" in message.last_error

        with after_sweep_grace():
            assert outbox_sweep() == 0
        message.refresh_from_db()
        assert (message.published_at, message.publish_attempts) == (None, 1)
        assert "Connection refused" in message.last_error
    assert queue_depth("settlement") == 0

    # RabbitMQ is back: the next sweep after the failed one's lease publishes it.
    with after_sweep_grace(SWEEP_LEASE):
        assert outbox_sweep() == 1
    assert _published_labels() == ["delayed"]
    message.refresh_from_db()
    assert message.published_at is not None
    assert message.publish_attempts == 2


@pytest.mark.django_db(transaction=True)
def test_after_an_unreachable_broker_writers_stop_waiting_on_it_until_a_publish_succeeds():
    # Without the pause, each writer's relay would wait out the connection timeout again
    # and write its own error; with it, the second writer's relay does not even try.
    with broker_unreachable():
        with transaction.atomic():
            first = outbox_enqueue(task="tests.record", kwargs={"label": "first"}, queue="settlement")
        with transaction.atomic():
            second = outbox_enqueue(task="tests.record", kwargs={"label": "second"}, queue="settlement")
    first.refresh_from_db()
    second.refresh_from_db()
    assert "Connection refused" in first.last_error
    assert (second.published_at, second.last_error) == (None, "")

    with after_sweep_grace():
        assert outbox_sweep() == 2  # the broker is back; the sweep publishes both
    with transaction.atomic():
        third = outbox_enqueue(task="tests.record", kwargs={"label": "third"}, queue="settlement")
    third.refresh_from_db()
    assert third.published_at is not None  # a publish succeeded, so the writers' relay is back
    assert sorted(_published_labels()) == ["first", "second", "third"]
