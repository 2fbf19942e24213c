"""The outbox, the inbox and dead letters.

Sending: a service calls :func:`outbox_enqueue` (a command for one task) or
:func:`event_publish` (an event for every subscriber) inside its own transaction. Nothing
reaches RabbitMQ unless that transaction commits; once it commits, the message is published
right after (:func:`outbox_relay`) or, if the process died first, by the sweep
(:func:`outbox_sweep`, every few seconds from beat).

Receiving: a consumer wraps its change in :func:`consume_once`, which records the message id
in the same transaction, so a message delivered twice (sweep and relay both published it, or
a worker died after committing but before acknowledging) is acted on once.
"""

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, transaction
from django.db.models import Q

from apps.audit.services import audit_record
from apps.core import clock, context
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.core.ids import uuid7
from apps.core.worker import PUBLICATION_HEADER, REQUEST_ID_HEADER, failure_note
from apps.events.outbox import broker, subscriptions
from apps.events.outbox.models import DeadLetter, OutboxMessage, ProcessedMessage
from apps.events.outbox.topology import DEFAULT_PRIORITY, MAX_PRIORITY, QUEUE_NAMES

logger = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=5)
SWEEP_LEASE = timedelta(seconds=60)
# How long consumers remember the messages they acted on (their inbox claims).
INBOX_RETENTION = timedelta(days=30)
# A dead letter may be replayed only while its consumers would still recognise it, had they
# acted on it before it died (they did so before it was dead-lettered): with a margin.
REPLAY_WINDOW = INBOX_RETENTION - timedelta(days=2)


class DeadLetterTooOld(FincoreError):
    code = "dead_letter_too_old"
    title = "This dead letter is too old to replay safely"
    status = 422


class DeadLetterAlreadyResolved(FincoreError):
    code = "dead_letter_already_resolved"
    title = "This dead letter was already replayed or discarded"
    status = 409


@dataclass(frozen=True)
class TaskMessage:
    """One task message to write to the outbox. ``message_id`` is the id consumers deduplicate
    on (new by default; a replay reuses the original's)."""

    task: str
    kwargs: dict[str, Any]
    queue: str
    priority: int = DEFAULT_PRIORITY
    args: list[Any] = field(default_factory=list)
    message_id: uuid.UUID | None = None


def outbox_enqueue_many(*, messages: Sequence[TaskMessage]) -> list[OutboxMessage]:
    """Write task messages in the caller's transaction, in one INSERT; they are published
    together after commit.

    Must run inside ``transaction.atomic()`` with the business change they belong to: a
    rollback then discards the messages too.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of the change it announces")
    for message in messages:
        if message.queue not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {message.queue!r}")
        if not 0 <= message.priority <= MAX_PRIORITY:
            raise ValueError(f"priority must be 0..{MAX_PRIORITY}")
    if not messages:
        return []
    now, request_id = clock.now(), context.current_request_id() or ""
    rows = OutboxMessage.objects.bulk_create([
        OutboxMessage(
            message_id=message.message_id or uuid7(), task_name=message.task, args=message.args,
            kwargs=message.kwargs, queue=message.queue, priority=message.priority, request_id=request_id,
            created_at=now,
        )
        for message in messages
    ])
    # robust: a broker outage must not turn a committed change into an error for the caller;
    # the sweep publishes what the relay could not.
    transaction.on_commit(partial(outbox_relay, messages=rows), robust=True)
    return rows


def outbox_enqueue(
    *,
    task: str,
    kwargs: dict[str, Any],
    queue: str,
    priority: int = DEFAULT_PRIORITY,
    args: list[Any] | None = None,
    message_id: uuid.UUID | None = None,
) -> OutboxMessage:
    """Write one task message in the caller's transaction (see :func:`outbox_enqueue_many`)."""
    [message] = outbox_enqueue_many(messages=[
        TaskMessage(task=task, kwargs=kwargs, queue=queue, priority=priority, args=args or [],
                    message_id=message_id)
    ])
    return message


def event_messages(*, event_type: str, data: dict[str, Any]) -> list[TaskMessage]:
    """The messages announcing ``event_type`` to every subscribed task, for a caller that writes
    them with others of the same change in one :func:`outbox_enqueue_many`."""
    event = {"id": str(uuid7()), "type": event_type, "created": clock.now().isoformat(), "data": data}
    return [
        TaskMessage(task=subscription.task, kwargs={"event": event}, queue=subscription.queue,
                    priority=subscription.priority)
        for subscription in subscriptions.subscribers(event_type)
    ]


def event_publish(*, event_type: str, data: dict[str, Any]) -> list[OutboxMessage]:
    """Announce ``event_type`` to every subscribed task, in the caller's transaction."""
    return outbox_enqueue_many(messages=event_messages(event_type=event_type, data=data))


def _publication(message: OutboxMessage) -> broker.Publication:
    headers = {PUBLICATION_HEADER: str(message.id)}
    if message.request_id:
        headers[REQUEST_ID_HEADER] = message.request_id
    return broker.Publication(
        message_id=message.message_id,
        task_name=message.task_name,
        args=message.args,
        kwargs=message.kwargs,
        queue=message.queue,
        priority=message.priority,
        headers=headers,
    )


def _publish_all(messages: list[OutboxMessage]) -> int:
    """Publish each message (no transaction open), then mark the confirmed ones published.

    A message the broker refuses is noted and the others go on; an unreachable broker ends
    the batch, since every further message would wait out the same connection timeout. What
    is not published is released for the next sweep. Returns how many were published.
    """
    published: list[int] = []
    failed: dict[int, str] = {}
    try:
        for position, message in enumerate(messages):
            try:
                broker.publish(_publication(message), retry=False)
            except SoftTimeLimitExceeded:
                raise
            except broker.BROKER_UNREACHABLE as unreachable:
                _note_broker_unreachable()
                error = repr(unreachable)[:2000]
                failed.update({later.id: error for later in messages[position:]})
                logger.warning("outbox publish stopped: broker unreachable", extra={"error": error})
                break
            except Exception as refused:  # noqa: BLE001 - any refusal leaves the row for the sweep
                failed[message.id] = repr(refused)[:2000]
                logger.warning("outbox publish failed", extra={"outbox_id": message.id, "error": repr(refused)})
            else:
                published.append(message.id)
                _note_broker_reachable()
    finally:
        if published:
            OutboxMessage.objects.filter(pk__in=published, published_at__isnull=True).update(
                published_at=clock.now(), claimed_until=None
            )
        for outbox_id, error in failed.items():
            OutboxMessage.objects.filter(pk=outbox_id).update(last_error=error, claimed_until=None)
    return len(published)


# After an unreachable broker, the writer's after-commit relay stands aside for a while, so
# requests do not each wait out a connection timeout; the sweep publishes meanwhile.
_RELAY_BACKOFF_SECONDS = 30.0
_relay_paused_until = 0.0


def _note_broker_unreachable() -> None:
    global _relay_paused_until
    _relay_paused_until = time.monotonic() + _RELAY_BACKOFF_SECONDS


def _note_broker_reachable() -> None:
    global _relay_paused_until
    _relay_paused_until = 0.0


def outbox_relay(*, messages: list[OutboxMessage]) -> int:
    """Publish just-committed outbox messages (runs after commit, in the writer's process), as
    they were written: they are not read back. Were one published by the sweep meanwhile (it
    waits SWEEP_GRACE first), it goes out twice, which consumers deduplicate."""
    if time.monotonic() < _relay_paused_until:
        return 0
    return _publish_all(messages)


def outbox_sweep(*, batch_size: int = 500) -> int:
    """Publish messages a crash left behind. Each sweeper leases its batch for a minute, so
    concurrent sweepers split the work; the lease is taken and released in short
    transactions, never across the publishing itself. Returns how many were published."""
    now = clock.now()
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("id")[:batch_size]
        )
        OutboxMessage.objects.filter(pk__in=[m.id for m in batch]).update(claimed_until=now + SWEEP_LEASE)
    for message in batch:
        message.publish_attempts += 1
    OutboxMessage.objects.bulk_update(batch, ["publish_attempts"])
    return _publish_all(batch)


@contextmanager
def consume_once(*, message_id: uuid.UUID | str, consumer: str) -> Iterator[bool]:
    """Open the consumer's transaction and claim ``message_id`` in it.

    Yields True the first time; False if this consumer already acted on the message (do
    nothing then). If the block raises, the claim rolls back with the change, so a retry
    acts on it again::

        with consume_once(message_id=self.request.id, consumer="ledger.post") as first:
            if first:
                ...  # the change, in the same transaction
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ProcessedMessage._meta.db_table} (message_id, consumer, processed_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (message_id, consumer) DO NOTHING RETURNING id",
                [str(message_id), consumer, clock.now()],
            )
            first = cursor.fetchone() is not None
        yield first


def _store_dead_letter(received: broker.ReceivedDeadLetter) -> None:
    now = clock.now()
    DeadLetter.objects.bulk_create(
        [
            DeadLetter(
                queue=received.queue,
                message_id=received.message_id,
                task_name=received.task_name,
                args=received.args,
                kwargs=received.kwargs,
                priority=received.priority,
                headers=received.headers,
                death_reason=received.death_reason,
                failure=failure_note(str(received.message_id)) or "",
                dead_lettered_at=received.dead_lettered_at or now,
                collected_at=now,
            )
        ],
        # Collected before, then the process died before acknowledging: keep the first copy.
        ignore_conflicts=True,
    )


def dead_letters_collect(*, limit_per_queue: int = 1000) -> int:
    """Move dead-lettered messages from RabbitMQ into the admin's dead-letter list."""
    return sum(
        broker.drain_dead_letters(queue, _store_dead_letter, limit=limit_per_queue) for queue in QUEUE_NAMES
    )


def _resolve(*, dead_letter_id: int, resolution: str, actor: Actor, reason: str) -> DeadLetter:
    dead_letter = DeadLetter.objects.select_for_update().get(pk=dead_letter_id)
    if dead_letter.resolution:
        raise DeadLetterAlreadyResolved(
            f"Dead letter {dead_letter.id} was already {dead_letter.resolution} by {dead_letter.resolved_by}."
        )
    dead_letter.resolution = resolution
    dead_letter.resolved_at = clock.now()
    dead_letter.resolved_by = actor.label
    dead_letter.resolution_reason = reason
    dead_letter.save(update_fields=["resolution", "resolved_at", "resolved_by", "resolution_reason"])
    audit_record(
        actor=actor,
        action=f"dead_letter.{resolution}",
        object_type="events.deadletter",
        object_id=str(dead_letter.id),
        before={"resolution": ""},
        after={"resolution": resolution, "task": dead_letter.task_name, "message_id": str(dead_letter.message_id)},
        reason=reason,
    )
    return dead_letter


def dead_letter_replay(*, dead_letter_id: int, actor: Actor, reason: str) -> DeadLetter:
    """Publish the message again to its queue, with its original id (so a consumer that did
    act on it before still deduplicates). Raises DeadLetterAlreadyResolved, or DeadLetterTooOld
    past REPLAY_WINDOW, when consumers may have forgotten that they acted on it."""
    with transaction.atomic():
        # Counted from the collection, on fincore's clock, like the inbox claims it protects; the
        # dead-letter time is RabbitMQ's clock's, which fincore does not keep. The collector runs
        # every minute, well inside the window's margin.
        collected = DeadLetter.objects.select_for_update().values_list("collected_at", flat=True).get(
            pk=dead_letter_id
        )
        if collected < clock.now() - REPLAY_WINDOW:
            raise DeadLetterTooOld(
                f"Collected on {collected:%Y-%m-%d}, more than {REPLAY_WINDOW.days} days ago: its consumers no longer "
                "remember whether they acted on it. Discard it and redo the work it carried by hand if needed."
            )
        dead_letter = _resolve(
            dead_letter_id=dead_letter_id, resolution=DeadLetter.Resolution.REPLAYED, actor=actor, reason=reason
        )
        outbox_enqueue(
            task=dead_letter.task_name,
            args=dead_letter.args,
            kwargs=dead_letter.kwargs,
            queue=dead_letter.queue,
            priority=dead_letter.priority,
            message_id=dead_letter.message_id,
        )
    return dead_letter


def dead_letter_discard(*, dead_letter_id: int, actor: Actor, reason: str) -> DeadLetter:
    """Close a dead letter without running it. Raises DeadLetterAlreadyResolved."""
    with transaction.atomic():
        return _resolve(
            dead_letter_id=dead_letter_id, resolution=DeadLetter.Resolution.DISCARDED, actor=actor, reason=reason
        )


def messaging_purge(*, published_before: timedelta = timedelta(days=7),
                    processed_before: timedelta = INBOX_RETENTION) -> tuple[int, int]:
    """Forget published outbox rows after a week and inbox claims after INBOX_RETENTION (longer
    than any message can wait in a queue, so a late duplicate is still recognised; dead
    letters older than that are no longer replayed)."""
    now = clock.now()
    outbox, _ = OutboxMessage.objects.filter(published_at__lt=now - published_before).delete()
    inbox, _ = ProcessedMessage.objects.filter(processed_at__lt=now - processed_before).delete()
    return outbox, inbox

