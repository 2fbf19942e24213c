"""The queues RabbitMQ holds are the ones DESIGN.md names, declared the way it says."""

import pytest
from celery import current_app

from apps.events.outbox import topology
from tests.support.proxy import DelayedBroker
from tests.support.workers import (
    WorkerProcess,
    declared_queues,
    delete_queues,
    publish,
    queue_depth,
    queue_exists,
    recorded,
    running_worker,
    wait_until,
)

WORK_QUEUES = ["payments", "ledger", "webhooks", "settlement", "reconciliation", "compliance", "default"]
DEAD_LETTER_QUEUES = [f"{name}.dead" for name in WORK_QUEUES]


def test_the_topology_names_every_queue_of_the_design():
    assert list(topology.QUEUE_NAMES) == WORK_QUEUES
    assert topology.MAX_PRIORITY == 9


@pytest.mark.django_db(transaction=True)
def test_a_starting_worker_declares_priority_queues_with_dead_lettering_and_the_dead_letter_queues():
    # Dead-letter queues have no consumer, so nothing declares them but the worker itself when
    # it connects (celery_app.DeclareTopology): without that, RabbitMQ would drop the first
    # message a worker rejects.
    delete_queues(DEAD_LETTER_QUEUES)
    assert not any(queue_exists(name) for name in DEAD_LETTER_QUEUES)

    with running_worker("compliance"):
        queues = declared_queues()

    for name in WORK_QUEUES:
        assert queues[name] == {
            "x-queue-type": "classic",
            "x-max-priority": 9,
            "x-dead-letter-exchange": "fincore.dead",
            "x-dead-letter-routing-key": name,
        }, name
    for name in DEAD_LETTER_QUEUES:
        # A dead letter is kept as it is: no priority, no further dead-lettering, no expiry.
        assert queues[name] == {"x-queue-type": "classic"}, name


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_while_rabbitmq_is_down_declares_the_dead_letter_queues_once_it_connects():
    # Workers often start before RabbitMQ is ready (a fresh cluster, a restart of both). Once
    # connected, a task that fails must still reach its dead-letter queue, not be dropped.
    delete_queues(["payments.dead"])
    rabbitmq = DelayedBroker(current_app.conf.broker_url)
    worker = WorkerProcess(queues=("payments",), env={"FINCORE_BROKER_URL": rabbitmq.url})
    try:
        worker.start(wait_ready=False)
        wait_until(lambda: worker.logged("Cannot connect to amqp://"), message="the worker to find RabbitMQ down")
        rabbitmq.come_up()
        worker.wait_ready(30)

        publish("tests.always_fail", queue="payments", label="first failure")
        wait_until(lambda: "first failure:failed" in recorded(), message="the task to fail")
        wait_until(lambda: queue_exists("payments.dead") and queue_depth("payments.dead") == 1,
                   timeout=10, message="the failed message in payments.dead")
    finally:
        worker.stop()
        rabbitmq.go_down()


@pytest.mark.parametrize(("task", "queue"), [
    ("payments.process", "payments"),
    ("ledger.post_batch", "ledger"),
    ("settlement.run", "settlement"),
    ("audit.seal", "default"),
    ("events.outbox_sweep", "default"),
    ("core.idempotency_purge", "default"),
])
def test_a_task_runs_on_the_queue_its_name_starts_with(task, queue):
    assert current_app.amqp.router.route({}, task)["queue"].name == queue
