"""At-least-once delivery, exactly-once effect: a consumer deduplicates on the message id in
the transaction of its own change (``consume_once``)."""

import pytest
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.events.outbox.models import OutboxMessage, ProcessedMessage
from apps.events.outbox.services import outbox_enqueue, outbox_sweep
from tests.support.outbox import after_sweep_grace
from tests.support.workers import drain, queue_depth, recorded, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _probe_journal(note: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="tests.probe", object_id=note))


def test_a_message_published_by_both_the_relay_and_the_sweep_is_acted_on_once(shared_worker):
    with transaction.atomic():
        message = outbox_enqueue(task="tests.journal_once", kwargs={"note": "twice"}, queue="ledger")
    wait_until(lambda: "twice:acted" in recorded(), message="the relayed delivery")

    # The relay's process died after RabbitMQ confirmed the message and before it marked the
    # row published: the sweep finds the row and publishes it again, with the same id.
    OutboxMessage.objects.filter(pk=message.pk).update(published_at=None)
    with after_sweep_grace():
        assert outbox_sweep() == 1
    wait_until(lambda: "twice:duplicate" in recorded(), message="the swept delivery")
    drain("ledger")

    assert [entry for entry in recorded() if entry.startswith("twice")] == ["twice:acted", "twice:duplicate"]
    # Without consume_once the second delivery would have journaled a second row.
    assert len(_probe_journal("twice")) == 1
    assert list(ProcessedMessage.objects.values_list("message_id", "consumer")) == [
        (message.message_id, "tests.journal_once")
    ]


def test_a_worker_killed_after_its_commit_and_before_its_ack_does_not_act_twice():
    with transaction.atomic():
        outbox_enqueue(task="tests.journal_once_then_die", kwargs={"note": "crash"}, queue="reconciliation")

    with running_worker("reconciliation"):
        # The first delivery committed its journal row, then its process died unacknowledged:
        # RabbitMQ delivers the message again and the consumer recognises it.
        wait_until(lambda: "crash:duplicate" in recorded(), timeout=45, message="the redelivery")

    assert recorded() == ["crash:committed then died", "crash:duplicate"]
    assert len(_probe_journal("crash")) == 1
    assert ProcessedMessage.objects.count() == 1
    assert queue_depth("reconciliation") == 0
    assert queue_depth("reconciliation.dead") == 0
