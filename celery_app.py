"""The Celery application: queues, worker behaviour and the beat scheduler.

    celery -A celery_app worker        # all queues; `-Q payments` for a dedicated pool
    celery -A celery_app beat          # schedules live in the database, editable in the admin

Nothing here may lose a message: tasks are acknowledged only after they finish
(``acks_late``), a task whose worker dies is delivered again (``reject_on_worker_lost``), a
worker holds one unacknowledged message at a time (so a high-priority message is never stuck
behind a prefetched backlog), publishing waits for the broker's confirm, and a task that fails
for good is rejected into its queue's dead-letter queue instead of being dropped.

A worker that serves none of the realtime queues (``REALTIME_QUEUES``: someone waits on their
tasks) runs on the CPU the others leave (``apps.core.worker.cpu_yield``): a backlog of bulk work
(a settlement run, a webhook storm) never delays a payment for CPU. deploy/README.md lists the
processes: the realtime queues get workers of their own.
"""

import os
from typing import Any

from celery import Celery, bootsteps
from celery.signals import celeryd_after_setup, worker_process_init

from apps.events.outbox import topology

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fincore.settings.development")

REALTIME_QUEUES = ("payments", "ledger")
WORKER_MAX_MEMORY_KIB = 400 * 1024

app = Celery("fincore", task_cls="apps.core.worker:FincoreTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=topology.work_queues(),
    task_default_queue="default",
    task_default_exchange=topology.TASK_EXCHANGE.name,
    task_default_routing_key="default",
    # A task runs on the queue its name starts with ("payments.capture" on payments);
    # housekeeping (audit.*, events.*, core.*) and the rest run on default. The nightly ledger
    # proof is long and not realtime: it stays off the ledger queue's workers.
    task_routes={
        "ledger.verify": {"queue": "default"},
        **{f"{name}.*": {"queue": name} for name in topology.QUEUE_NAMES if name != "default"},
    },
    task_create_missing_queues=False,
    task_queue_max_priority=topology.MAX_PRIORITY,
    task_default_priority=topology.DEFAULT_PRIORITY,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # A task that raised (or ran out of time) is rejected without requeue, so RabbitMQ
    # dead-letters it.
    task_acks_on_failure=False,
    task_acks_on_timeout=False,
    task_soft_time_limit=60,
    task_time_limit=90,
    worker_prefetch_multiplier=1,
    # A pool process is replaced when it grows past this (KiB; a fresh one holds about 110 MiB),
    # not after a count of tasks: replacing one stalls the whole worker for about 250 ms, which
    # at 1,000 tasks a child put a payment's p99 at 3 x its usual in the payments benchmark.
    worker_max_tasks_per_child=None,
    worker_max_memory_per_child=WORKER_MAX_MEMORY_KIB,
    # When the broker connection drops, running tasks' messages are redelivered anyway;
    # cancelling them avoids running the same work twice at once.
    worker_cancel_long_running_tasks_on_connection_loss=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_transport_options={"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
)
# Celery's Django fix-up closes the database connection around every task unless told to reuse
# it: a new PostgreSQL connection per payment cost ~5% of a payments worker. Reused, it is
# still checked before each task like a web request's (apps.core.worker), and recycled by
# CONN_MAX_AGE; the fix-up closes it anyway after this many tasks.
app.conf.update({"CELERY_DB_REUSE_MAX": 1000})
app.autodiscover_tasks()


class DeclareTopology(bootsteps.StartStopStep):
    """Dead-letter queues must exist before the first rejection, or RabbitMQ drops it.

    Declared on the consumer's connection each time it (re)connects, not once at start-up: a
    worker that started while RabbitMQ was down (or lost it since) declares them as soon as it
    can consume, before it takes its first message.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, consumer) -> None:
        topology.declare(consumer.connection)


app.steps["consumer"].add(DeclareTopology)


@celeryd_after_setup.connect
def _bulk_workers_yield_cpu(sender: str, instance: Any, **kwargs: Any) -> None:
    """Before the pool starts (its processes inherit it): a worker of bulk queues only yields."""
    if not set(instance.app.amqp.queues.consume_from) & set(REALTIME_QUEUES):
        from apps.core.worker import cpu_yield  # Django's settings are configured by now

        cpu_yield()


@worker_process_init.connect
def _long_lived_objects_frozen(**kwargs: Any) -> None:
    """A pool process keeps Django and the tasks loaded for its life: frozen out of the garbage
    collector, each full collection walks only what tasks made (as gunicorn's workers do)."""
    import gc

    gc.freeze()
