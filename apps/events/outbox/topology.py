"""The RabbitMQ topology fincore runs on.

One classic queue per kind of work, each declared with ``x-max-priority`` (RabbitMQ's quorum
queues have no priorities) and a dead-letter exchange. A message a worker rejects (a task that
failed for good, or one delivered too many times) is routed by the dead-letter exchange to
``<queue>.dead``, where it waits for an operator (``apps.events.outbox`` collects it into the admin).

This module has no Django imports: ``celery_app.py`` builds its queues from it at import time.
"""

from kombu import Connection, Exchange, Queue

QUEUE_NAMES = (
    "payments",
    "ledger",
    "webhooks",
    "settlement",
    "reconciliation",
    "compliance",
    "default",
)
# 0 (lowest) .. 9 (highest). RabbitMQ keeps one sub-queue per level, so few levels are cheaper.
MAX_PRIORITY = 9
DEFAULT_PRIORITY = 5

TASK_EXCHANGE = Exchange("fincore", type="direct", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("fincore.dead", type="direct", durable=True)


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}.dead"


def work_queues() -> list[Queue]:
    return [
        Queue(
            name,
            TASK_EXCHANGE,
            routing_key=name,
            durable=True,
            max_priority=MAX_PRIORITY,
            queue_arguments={
                "x-queue-type": "classic",
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                "x-dead-letter-routing-key": name,
            },
        )
        for name in QUEUE_NAMES
    ]


def dead_letter_queues() -> list[Queue]:
    return [
        Queue(
            dead_letter_queue_name(name),
            DEAD_LETTER_EXCHANGE,
            routing_key=name,
            durable=True,
            queue_arguments={"x-queue-type": "classic"},
        )
        for name in QUEUE_NAMES
    ]


def declare(connection: Connection) -> None:
    """Declare every exchange, queue and binding; idempotent, safe on every start."""
    channel = connection.default_channel
    for queue in (*work_queues(), *dead_letter_queues()):
        queue.bind(channel).declare()
