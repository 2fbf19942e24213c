"""Probe tasks the suite's workers run to exercise the queue machinery.

Only workers started by the suite load this module (``CELERY_IMPORTS`` in the test settings).
Each probe reports what happened to it in a Redis list the test reads.
"""

import logging
import os
import time
from typing import Any

from celery import shared_task
from django_redis import get_redis_connection

from apps.audit.services import audit_record
from apps.core import context
from apps.core.actors import Actor
from apps.core.exceptions import TransientError
from apps.events.outbox.services import consume_once

logger = logging.getLogger(__name__)

RECORD = "tests:record"


def record(entry: str) -> None:
    get_redis_connection("default").rpush(RECORD, entry)


def flag_key(label: str) -> str:
    return f"tests:flag:{label}"


@shared_task(name="tests.record")
def record_task(label: str, sleep_seconds: float = 0.0) -> None:
    time.sleep(sleep_seconds)
    record(label)


@shared_task(name="tests.record_request_id")
def record_request_id(label: str = "") -> None:
    request_id = context.current_request_id() or "no request id"
    # Through the logging config: the JSON formatter stamps the bound request id on the line.
    logger.info("probe saw its request id", extra={"probe": label})
    record(f"{label}:{request_id}" if label else request_id)


@shared_task(name="tests.record_event", bind=True)
def record_event(self, event: dict[str, Any]) -> None:
    """A subscriber: records which message (task id) brought which event."""
    record(f"{event['type']}:{event['id']}:{self.request.id}")


@shared_task(name="tests.kill_worker_process")
def kill_worker_process(label: str) -> None:
    """A poison message: takes its worker process down before it can be acknowledged."""
    record(f"{label}:started")
    os._exit(9)


@shared_task(name="tests.start_then_finish")
def start_then_finish(label: str, sleep_seconds: float) -> None:
    """Long enough to be killed mid-run; records its start and its finish."""
    record(f"{label}:started")
    time.sleep(sleep_seconds)
    record(f"{label}:finished")


@shared_task(name="tests.always_fail")
def always_fail(label: str) -> None:
    record(f"{label}:failed")
    raise ValueError(f"{label} cannot be processed")


@shared_task(name="tests.fail_until_flagged", bind=True)
def fail_until_flagged(self, label: str) -> None:
    """Fails until the test sets its Redis flag (the bug is fixed), then succeeds."""
    if not get_redis_connection("default").exists(flag_key(label)):
        record(f"{label}:failed:{self.request.id}")
        raise ValueError(f"{label} is not fixed yet")
    record(f"{label}:succeeded:{self.request.id}")


@shared_task(name="tests.transient_failures", bind=True, retry_backoff=1, retry_backoff_max=2)
def transient_failures(self, label: str, failures: int) -> None:
    """Fails with a transient error ``failures`` times, then succeeds."""
    attempt = get_redis_connection("default").incr(f"tests:attempts:{label}")
    record(f"{label}:attempt{attempt}:retries{self.request.retries}")
    if attempt <= failures:
        raise TransientError(f"attempt {attempt} of {label} hit a timeout")
    record(f"{label}:done")


def _journal(note: str) -> None:
    audit_record(actor=Actor.system("tests.journal_once"), action="tests.probe", object_type="tests.probe",
                 object_id=note)


@shared_task(name="tests.journal_once", bind=True)
def journal_once(self, note: str) -> None:
    """A deduplicating consumer: its change (a journal row) happens once per message id."""
    with consume_once(message_id=self.request.id, consumer="tests.journal_once") as first:
        if first:
            _journal(note)
    record(f"{note}:{'acted' if first else 'duplicate'}")


@shared_task(name="tests.journal_once_then_die", bind=True)
def journal_once_then_die(self, note: str) -> None:
    """Like ``journal_once``, but its first delivery dies after the commit and before the ack."""
    with consume_once(message_id=self.request.id, consumer="tests.journal_once_then_die") as first:
        if first:
            _journal(note)
    if get_redis_connection("default").set(f"tests:died:{self.request.id}", 1, nx=True):
        record(f"{note}:committed then died")
        os._exit(9)
    record(f"{note}:{'acted' if first else 'duplicate'}")
