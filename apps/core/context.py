"""The unit of work in progress: its request id, client address and the reason for a change.

Values live in context variables, so they follow a request through its thread and are copied
into the Celery tasks it publishes (``apps.core.worker``), giving every log line and audit row
of one piece of work the same request id.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("fincore_request_id", default=None)
_client_ip: ContextVar[str | None] = ContextVar("fincore_client_ip", default=None)
_task: ContextVar[tuple[str, str] | None] = ContextVar("fincore_task", default=None)
_change_reason: ContextVar[str] = ContextVar("fincore_change_reason", default="")


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def current_request_id() -> str | None:
    return _request_id.get()


def current_client_ip() -> str | None:
    return _client_ip.get()


def current_task() -> tuple[str, str] | None:
    """(task id, task name) of the Celery task running in this context, if any."""
    return _task.get()


def current_change_reason() -> str:
    return _change_reason.get()


@contextmanager
def bound(
    *,
    request_id: str | None = None,
    client_ip: str | None = None,
    task: tuple[str, str] | None = None,
) -> Iterator[None]:
    """Bind the given values for the duration of the block; unset values are left as they are."""
    tokens = []
    for variable, value in ((_request_id, request_id), (_client_ip, client_ip), (_task, task)):
        if value is not None:
            tokens.append((variable, variable.set(value)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


@contextmanager
def change_reason(reason: str) -> Iterator[None]:
    """Why a person is making the change in progress; recorded with every audit row it causes."""
    token = _change_reason.set(reason)
    try:
        yield
    finally:
        _change_reason.reset(token)
