from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min

from apps.events.outbox import broker, topology
from apps.events.outbox.models import DeadLetter, OutboxMessage

# What reading RabbitMQ raises when it cannot be reached (for callers that carry on without it).
BROKER_UNREACHABLE = broker.BROKER_UNREACHABLE


@dataclass(frozen=True)
class OutboxBacklog:
    unpublished: int
    oldest_created_at: datetime | None


def outbox_backlog() -> OutboxBacklog:
    row = OutboxMessage.objects.filter(published_at__isnull=True).aggregate(n=Count("id"), oldest=Min("created_at"))
    return OutboxBacklog(unpublished=row["n"], oldest_created_at=row["oldest"])


def dead_letters_open_count() -> int:
    return DeadLetter.objects.filter(resolution="").count()


def dead_letters_open_by_queue() -> dict[str, int]:
    """Open dead letters (collected, awaiting an operator) per queue; queues with none are left out."""
    rows = DeadLetter.objects.filter(resolution="").values("queue").annotate(n=Count("id")).order_by()
    return {row["queue"]: row["n"] for row in rows}


def queue_names() -> tuple[str, ...]:
    """The work queues, in the topology's order (each has its ``<queue>.dead``)."""
    return topology.QUEUE_NAMES


def dead_letter_queue_name(queue_name: str) -> str:
    return topology.dead_letter_queue_name(queue_name)


def queue_depths(*, timeout: float | None = None) -> dict[str, int]:
    """Messages waiting in each work and dead-letter queue; raises one of BROKER_UNREACHABLE if
    RabbitMQ is down (after at most ``timeout`` seconds, if given)."""
    return broker.queue_depths(timeout=timeout)


def broker_ping() -> None:
    """Raise unless RabbitMQ accepts a connection."""
    broker.ping()
