"""How every fincore task behaves in a worker.

``celery_app.py`` makes :class:`FincoreTask` the base of every task. It adds what Celery's
options alone do not give:

- a bound on deliveries: a message that keeps killing its worker (so it is never acknowledged
  nor rejected) would be redelivered forever; after ``FINCORE_TASK_MAX_DELIVERIES`` it is
  rejected into the dead-letter queue instead;
- retries with exponential backoff and jitter for transient failures only
  (:class:`~apps.core.exceptions.TransientError`, lost or deadlocked database connections);
- the request id of the work that published the task, bound for its logs and audit rows;
- a note of why a message failed, kept beside it for the operator who inspects the dead letter.

It also holds :func:`cpu_yield`, by which the workers of bulk queues leave the CPU to the rest.
"""

import logging
import os
from pathlib import Path
from typing import Any

from celery import Task
from celery.exceptions import Reject
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.core import context
from apps.core.exceptions import TransientError

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "fincore_request_id"
# Set by the outbox on each publish, so a replayed message starts its delivery count afresh.
PUBLICATION_HEADER = "fincore_publication"
_NOTE_TTL_SECONDS = 14 * 24 * 3600


def _deliveries_key(task_id: str, publication: str, retries: int) -> str:
    return f"fincore:deliveries:{task_id}:{publication}:{retries}"


def _failure_note_key(task_id: str) -> str:
    return f"fincore:task-failure:{task_id}"


def failure_note(task_id: str) -> str | None:
    """Why the last delivery of ``task_id`` failed, if a worker recorded it."""
    try:
        raw = get_redis_connection("default").get(_failure_note_key(task_id))
    except RedisError:
        logger.warning("failure note unavailable", extra={"message_id": task_id})
        return None
    return raw.decode() if raw else None


def _record_failure_note(task_id: str, note: str) -> None:
    try:
        get_redis_connection("default").set(_failure_note_key(task_id), note, ex=_NOTE_TTL_SECONDS)
    except RedisError:
        logger.warning("could not keep failure note", extra={"message_id": task_id})


class FincoreTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (TransientError, OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly:
            return super().__call__(*args, **kwargs)
        with context.bound(
            request_id=request.get(REQUEST_ID_HEADER) or None, task=(request.id, self.name)
        ):
            self._refuse_poison_message()
            return super().__call__(*args, **kwargs)

    def _refuse_poison_message(self) -> None:
        request = self.request
        # Only a redelivery costs a round trip to Redis; the first delivery is the common case.
        if not (request.delivery_info or {}).get("redelivered"):
            return
        key = _deliveries_key(request.id, str(request.get(PUBLICATION_HEADER) or ""), request.retries)
        try:
            redis = get_redis_connection("default")
            with redis.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, _NOTE_TTL_SECONDS)
                redeliveries, _ = pipe.execute()
        except RedisError:
            logger.warning("delivery count unavailable; running the redelivered task")
            return
        deliveries = 1 + int(redeliveries)
        limit = settings.FINCORE_TASK_MAX_DELIVERIES
        if deliveries > limit:
            note = f"delivered {deliveries} times without finishing (limit {limit})"
            logger.error("poison message dead-lettered", extra={"deliveries": deliveries})
            _record_failure_note(request.id, note)
            raise Reject(note, requeue=False)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        _record_failure_note(task_id, f"{type(exc).__name__}: {exc}\n\n{einfo}"[:8000])


# The weakest autogroup weight there is (a nice value, -20 .. 19).
_AUTOGROUP_NICE = 19


def cpu_yield() -> None:
    """From now on this process, and every process it forks (a worker's pool), runs only on CPU
    time that nothing else wants (Linux; elsewhere nothing changes).

    ``nice`` is not enough: with the kernel's autogroups (on by default), CPU time is shared
    fairly between *sessions* first, and nice weighs a process only against others of its own
    session, so a worker started in a session of its own (honcho, systemd, a shell) at ``nice 10``
    still took an equal share from the payments worker; so does ``SCHED_IDLE`` alone. The
    process asks for ``SCHED_IDLE`` (it yields to any other process it shares a group with,
    at once when one wakes), and when it leads its own session, for the weakest weight of that
    session's group (against other sessions). A shell's session is not re-weighted: a worker
    started from a terminal takes only ``SCHED_IDLE``.
    """
    if not hasattr(os, "SCHED_IDLE"):
        return
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    autogroup = Path("/proc/self/autogroup")
    if os.getsid(0) == os.getpid() and autogroup.exists():
        autogroup.write_text(str(_AUTOGROUP_NICE))
    logger.info("bulk worker: yielding the CPU (SCHED_IDLE)")


@task_prerun.connect
@task_postrun.connect
def _database_connections_checked(**kwargs: Any) -> None:
    """Around each task, as Django does around each request: a connection that broke (or
    outlived CONN_MAX_AGE) is closed, and the next query checks the connection is alive
    (CONN_HEALTH_CHECKS) before it is used. The connection itself is reused between tasks."""
    close_old_connections()


@before_task_publish.connect
def _propagate_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A task published while serving a request carries that request's id."""
    if headers is not None and not headers.get(REQUEST_ID_HEADER):
        request_id = context.current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
