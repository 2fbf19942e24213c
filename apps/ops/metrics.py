"""Prometheus metrics: what django-prometheus measures of requests, plus fincore's own.

Under gunicorn and Celery's prefork pool every process records into prometheus_client's
multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``), and ``/metrics`` adds them up, so one
scrape sees the requests of every web worker and the tasks of every Celery worker on the
host. Queue depths, the outbox backlog and similar gauges are read at scrape time.
"""

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from celery.signals import task_postrun, task_prerun
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from apps.audit.selectors import audit_unsealed_count
from apps.core import clock
from apps.events.outbox.selectors import dead_letters_open_count, outbox_backlog, queue_depths
from apps.ledger.selectors import latest_verification

logger = logging.getLogger(__name__)

TASKS = Counter("fincore_tasks_total", "Celery tasks run, by outcome.", ["task", "state"])
TASK_DURATION = Histogram(
    "fincore_task_duration_seconds",
    "Time a Celery task ran.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str, **kwargs: Any) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    TASKS.labels(task=task.name, state=state or "UNKNOWN").inc()
    if started is not None:
        TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)


def _queue_gauges() -> list[GaugeMetricFamily]:
    queues = GaugeMetricFamily("fincore_queue_messages", "Messages ready in a RabbitMQ queue.", labels=["queue"])
    for name, depth in queue_depths().items():
        queues.add_metric([name], depth)
    return [queues]


def _outbox_gauges() -> list[GaugeMetricFamily]:
    backlog = outbox_backlog()
    age = (clock.now() - backlog.oldest_created_at).total_seconds() if backlog.oldest_created_at else 0
    return [
        GaugeMetricFamily(
            "fincore_outbox_unpublished_messages", "Outbox messages not yet published.", value=backlog.unpublished
        ),
        GaugeMetricFamily(
            "fincore_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox message.", value=age
        ),
    ]


def _dead_letter_gauges() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "fincore_dead_letters_open", "Dead letters awaiting an operator.", value=dead_letters_open_count()
        )
    ]


def _audit_gauges() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "fincore_audit_unsealed_events", "Audit events not yet sealed into the chain.", value=audit_unsealed_count()
        )
    ]


def _ledger_verification_gauges() -> list[GaugeMetricFamily]:
    verification = latest_verification()
    ok = GaugeMetricFamily(
        "fincore_ledger_verification_ok", "1 if the last ledger invariant check passed, 0 if it failed."
    )
    age = GaugeMetricFamily("fincore_ledger_verification_age_seconds", "Time since the last ledger invariant check.")
    if verification is not None:
        ok.add_metric([], 1 if verification.ok else 0)
        age.add_metric([], (clock.now() - verification.finished_at).total_seconds())
    return [ok, age]


# Each entry reads one source on its own, so an outage (RabbitMQ, PostgreSQL, one slow table)
# drops only the gauges it feeds and the scrape still answers with the rest.
GAUGES = {
    "queue depths": _queue_gauges,
    "outbox backlog": _outbox_gauges,
    "open dead letters": _dead_letter_gauges,
    "unsealed audit events": _audit_gauges,
    "ledger verification": _ledger_verification_gauges,
}


class BacklogCollector(Collector):
    """Queue depths, outbox backlog, open dead letters, unsealed audit rows and the last ledger
    verification, read now; a source that fails is left out, with a warning in the log."""

    def describe(self) -> list[GaugeMetricFamily]:
        # Without this, registering would call collect(), querying the database at import time.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for source, gauges in GAUGES.items():
            try:
                families = gauges()
            except Exception as error:  # noqa: BLE001 - an outage must not break the whole scrape
                logger.warning("metrics source unavailable", extra={"source": source, "error": repr(error)})
                continue
            yield from families


_BACKLOG = BacklogCollector()
_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
if not _MULTIPROCESS:
    REGISTRY.register(_BACKLOG)


def scrape_registry() -> CollectorRegistry:
    """The registry /metrics renders: every process's metrics plus the backlog gauges."""
    if not _MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_BACKLOG)
    return registry
