"""The edge to RabbitMQ: publish a task message, drain a dead-letter queue, read queue depths.

Plain data in and out; no ORM. Publishing goes through the Celery app so messages are
ordinary Celery task messages, confirmed by the broker (``confirm_publish``) before
``publish`` returns.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from amqp.exceptions import ChannelError
from celery import current_app
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.events.outbox import topology

logger = logging.getLogger(__name__)


# What publishing raises when RabbitMQ cannot be reached at all (as opposed to refusing one message).
BROKER_UNREACHABLE = (KombuOperationalError, OSError)


@dataclass(frozen=True)
class Publication:
    message_id: UUID
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str
    priority: int
    headers: dict[str, str]


@dataclass(frozen=True)
class ReceivedDeadLetter:
    queue: str
    message_id: UUID
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    priority: int
    headers: dict[str, Any]
    death_reason: str
    dead_lettered_at: datetime | None


def publish(publication: Publication, *, retry: bool) -> None:
    """Publish one task message and wait for the broker's confirm; raises if it is refused."""
    current_app.send_task(
        publication.task_name,
        args=publication.args,
        kwargs=publication.kwargs,
        task_id=str(publication.message_id),
        queue=publication.queue,
        priority=publication.priority,
        headers=publication.headers,
        retry=retry,
    )


@contextmanager
def _connection(*, timeout: float | None = None) -> Iterator[Connection]:
    """A connection to RabbitMQ. With ``timeout``, one try whose connect, reads and writes each
    wait at most that long (a page or a scrape asking, not a worker that must get through)."""
    with current_app.connection_for_write() as connection:
        if timeout is None:
            connection.ensure_connection(max_retries=1)
        else:
            connection.connect_timeout = timeout
            connection.transport_options = {
                **connection.transport_options, "read_timeout": timeout, "write_timeout": timeout,
            }
            connection.ensure_connection(max_retries=0)
        yield connection


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _parse_dead_letter(queue_name: str, message: Any) -> ReceivedDeadLetter:
    headers = dict(message.headers or {})
    deaths = headers.get("x-death") or [{}]
    death = deaths[0]
    died_at = death.get("time")
    if isinstance(died_at, datetime) and died_at.tzinfo is None:
        died_at = died_at.replace(tzinfo=UTC)
    try:
        body = message.decode()
    except Exception as undecodable:  # noqa: BLE001 - keep the message for a person to read
        headers["undecodable_body"] = f"{undecodable!r}: {message.body[:4000]!r}"
        body = None
    args, kwargs = (body[0], body[1]) if isinstance(body, list) and len(body) >= 2 else ([], {})
    try:
        message_id = UUID(str(headers.get("id") or message.properties.get("correlation_id")))
    except ValueError:
        message_id = uuid4()  # not a Celery task message: it still deserves a row
    priority = message.properties.get("priority")
    return ReceivedDeadLetter(
        queue=queue_name,
        message_id=message_id,
        task_name=str(headers.get("task", "")),
        args=list(args) if isinstance(args, list) else [],
        kwargs=dict(kwargs) if isinstance(kwargs, dict) else {},
        # 0 is a priority (the lowest), not a missing one.
        priority=topology.DEFAULT_PRIORITY if priority is None else int(priority),
        headers=_json_safe(headers),
        death_reason=str(death.get("reason", "")),
        dead_lettered_at=died_at if isinstance(died_at, datetime) else None,
    )


def drain_dead_letters(queue_name: str, store: Callable[[ReceivedDeadLetter], None], *, limit: int) -> int:
    """Hand up to ``limit`` messages of ``<queue_name>.dead`` to ``store``, acknowledging
    each only after ``store`` returned, so a crash in between redelivers instead of losing it."""
    dead_queue = next(q for q in topology.dead_letter_queues() if q.routing_key == queue_name)
    drained = 0
    with _connection() as connection:
        bound = dead_queue.bind(connection.default_channel)
        bound.declare()
        while drained < limit:
            # JSON only: decoding, say, a pickle from the queue would run its code. A message in
            # another format fails to decode and is kept undecoded (_parse_dead_letter).
            message = bound.get(no_ack=False, accept=["json"])
            if message is None:
                break
            store(_parse_dead_letter(queue_name, message))
            message.ack()
            drained += 1
    return drained


def queue_depths(*, timeout: float | None = None) -> dict[str, int]:
    """Messages ready in every work and dead-letter queue (a passive declare of each); a queue not
    declared yet counts 0. Raises one of BROKER_UNREACHABLE if RabbitMQ does not answer (within
    ``timeout`` seconds, if given)."""
    depths: dict[str, int] = {}
    with _connection(timeout=timeout) as connection:
        for queue in (*topology.work_queues(), *topology.dead_letter_queues()):
            channel = connection.channel()
            try:
                _, depths[queue.name], _ = channel.queue_declare(queue.name, passive=True)
            except ChannelError:
                depths[queue.name] = 0
            finally:
                if channel.is_open:
                    channel.close()
    return depths


def ping() -> None:
    """Raise unless the broker accepts a connection."""
    with _connection():
        pass
