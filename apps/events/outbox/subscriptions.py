"""Who listens to which event.

An inner app announces a change with ``event_publish("ledger.transfer_posted", data)``
without knowing who cares; outer apps subscribe a task to the event type in their
``AppConfig.ready()``. Each subscriber gets its own outbox message, with its own id, so each
deduplicates independently.
"""

from dataclasses import dataclass

from apps.events.outbox.topology import DEFAULT_PRIORITY, QUEUE_NAMES


@dataclass(frozen=True)
class Subscription:
    event_type: str
    task: str
    queue: str
    priority: int


_subscriptions: dict[str, list[Subscription]] = {}


def subscribe(event_type: str, *, task: str, queue: str, priority: int = DEFAULT_PRIORITY) -> None:
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r}")
    subscription = Subscription(event_type, task, queue, priority)
    listeners = _subscriptions.setdefault(event_type, [])
    if subscription not in listeners:
        listeners.append(subscription)


def subscribers(event_type: str) -> list[Subscription]:
    return list(_subscriptions.get(event_type, ()))
