"""Probe tasks the suite's workers run to exercise the queue machinery.

Only workers started by the suite load this module (``CELERY_IMPORTS`` in the test settings).
Each probe reports what happened to it in a Redis list the test reads.
"""

import os
import time

from celery import shared_task
from django_redis import get_redis_connection

from apps.audit.services import audit_record
from apps.core import context
from apps.core.actors import Actor
from apps.core.exceptions import TransientError
from apps.events.services import consume_once

RECORD = "tests:record"


def record(entry: str) -> None:
    get_redis_connection("default").rpush(RECORD, entry)


@shared_task(name="tests.record")
def record_task(label: str, sleep_seconds: float = 0.0) -> None:
    time.sleep(sleep_seconds)
    record(label)


@shared_task(name="tests.record_request_id")
def record_request_id() -> None:
    record(context.current_request_id() or "no request id")


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


@shared_task(name="tests.transient_failures", retry_backoff=1, retry_backoff_max=2)
def transient_failures(label: str, failures: int) -> None:
    """Fails with a transient error ``failures`` times, then succeeds."""
    attempt = get_redis_connection("default").incr(f"tests:attempts:{label}")
    record(f"{label}:attempt{attempt}")
    if attempt <= failures:
        raise TransientError(f"attempt {attempt} of {label} hit a timeout")
    record(f"{label}:done")


@shared_task(name="tests.journal_once", bind=True)
def journal_once(self, note: str) -> None:
    """A deduplicating consumer: its change (a journal row) happens once per message id."""
    with consume_once(message_id=self.request.id, consumer="tests.journal_once") as first:
        if first:
            audit_record(actor=Actor.system("tests.journal_once"), action="tests.probe", object_type="tests.probe",
                         object_id=note)
    record(f"{note}:{'acted' if first else 'duplicate'}")
