"""A task whose worker dies while running it is not lost: it runs again and finishes."""

import os
import signal

import pytest

from tests.support.workers import publish, queue_depth, recorded, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_running_when_its_whole_worker_is_killed_is_delivered_to_another_worker():
    publish("tests.start_then_finish", queue="compliance", label="transfer", sleep_seconds=1.0)

    with running_worker("compliance") as crashed:
        wait_until(lambda: "transfer:started" in recorded(), message="the task to start")
        # acks_late: the message is still unacknowledged, so RabbitMQ takes it back when the
        # connection dies. With an early ack it would be gone with the worker.
        crashed.kill()
    wait_until(lambda: queue_depth("compliance") == 1, message="RabbitMQ to requeue the message")
    assert recorded() == ["transfer:started"]

    with running_worker("compliance"):
        wait_until(lambda: "transfer:finished" in recorded(), message="the task to finish on the new worker")

    assert recorded() == ["transfer:started", "transfer:started", "transfer:finished"]
    assert queue_depth("compliance") == 0
    assert queue_depth("compliance.dead") == 0


def test_a_task_whose_pool_process_is_killed_is_requeued_and_finishes():
    publish("tests.start_then_finish", queue="reconciliation", label="statement", sleep_seconds=1.0)

    with running_worker("reconciliation") as worker:
        wait_until(lambda: "statement:started" in recorded(), message="the task to start")
        [pool_process] = worker.pool_pids()
        os.kill(pool_process, signal.SIGKILL)
        # The worker's main process survives and sees WorkerLostError: reject_on_worker_lost
        # requeues the message (without it, acks_on_failure=False would dead-letter it).
        wait_until(lambda: "statement:finished" in recorded(), timeout=45, message="the task to finish")
        assert worker.is_alive()
        assert pool_process not in worker.pool_pids()

    assert recorded() == ["statement:started", "statement:started", "statement:finished"]
    assert queue_depth("reconciliation") == 0
    assert queue_depth("reconciliation.dead") == 0
