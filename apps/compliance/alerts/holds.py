"""Holds: a payment or payout kept waiting for an officer. Compliance sits below the apps that own
those objects, so they hand it, when Django starts, what releasing and declining one means
(``hold_handlers_register`` from their ``AppConfig.ready``), as they hand it their sensitive
actions. Each handler is called as ``handler(object_id=..., actor=..., reason=...)`` in the
officer's transaction and raises a FincoreError to refuse."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HoldHandlers:
    release: Callable[..., Any]
    decline: Callable[..., Any]


_handlers: dict[str, HoldHandlers] = {}


def hold_handlers_register(object_type: str, *, release: Callable[..., Any], decline: Callable[..., Any]) -> None:
    known = _handlers.get(object_type)
    handlers = HoldHandlers(release, decline)
    if known is not None and known != handlers:
        raise ValueError(f"hold handlers for {object_type!r} are already registered")
    _handlers[object_type] = handlers


def hold_handlers(object_type: str) -> HoldHandlers:
    """Raises KeyError for an object type nobody registered (a programming error)."""
    return _handlers[object_type]
