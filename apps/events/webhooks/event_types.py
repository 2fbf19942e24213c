"""The event types merchants may subscribe their webhook endpoints to.

Outer apps register theirs (with a description) in ``AppConfig.ready()`` through
``events.services.webhook_event_types_register``; an endpoint's ``events`` must name
registered types, or ``*`` for every type.
"""

import re
from collections.abc import Mapping

ALL_EVENTS = "*"
_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

_registry: dict[str, str] = {}


def register(types: Mapping[str, str]) -> None:
    for event_type, description in types.items():
        if not _TYPE_PATTERN.match(event_type) or len(event_type) > 100:
            raise ValueError(f"event type {event_type!r} must look like 'payment.succeeded'")
        known = _registry.get(event_type)
        if known is not None and known != description:
            raise ValueError(f"event type {event_type!r} is already registered as {known!r}")
        _registry[event_type] = description


def registered() -> dict[str, str]:
    return dict(sorted(_registry.items()))


def is_registered(event_type: str) -> bool:
    return event_type in _registry
