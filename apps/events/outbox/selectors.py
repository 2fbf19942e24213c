from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min

from apps.events.outbox import broker
from apps.events.outbox.models import DeadLetter, OutboxMessage


@dataclass(frozen=True)
class OutboxBacklog:
    unpublished: int
    oldest_created_at: datetime | None


def outbox_backlog() -> OutboxBacklog:
    row = OutboxMessage.objects.filter(published_at__isnull=True).aggregate(n=Count("id"), oldest=Min("created_at"))
    return OutboxBacklog(unpublished=row["n"], oldest_created_at=row["oldest"])


def dead_letters_open_count() -> int:
    return DeadLetter.objects.filter(resolution="").count()


def queue_depths() -> dict[str, int]:
    """Messages waiting in each work and dead-letter queue (raises if RabbitMQ is down)."""
    return broker.queue_depths()


def broker_ping() -> None:
    """Raise unless RabbitMQ accepts a connection."""
    broker.ping()
