"""A worker of bulk queues yields the CPU to the realtime ones (celery_app, apps.core.worker)."""

import multiprocessing
import os
from types import SimpleNamespace

import pytest

import celery_app
from apps.core import worker


def _worker_set_up(*queues: str) -> SimpleNamespace:
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=dict.fromkeys(
        queues)))))


@pytest.mark.parametrize(
    ("queues", "yields"),
    [
        (("webhooks", "settlement", "reconciliation", "compliance", "default"), True),
        (("settlement",), True),
        (("payments",), False),
        (("payments", "ledger"), False),
        (("ledger", "webhooks"), False),
    ],
)
def test_a_worker_yields_the_cpu_only_when_it_serves_no_realtime_queue(monkeypatch, queues, yields):
    calls = []
    monkeypatch.setattr(worker, "cpu_yield", lambda: calls.append(True))

    celery_app._bulk_workers_yield_cpu(sender="worker@host", instance=_worker_set_up(*queues))

    assert bool(calls) is yields


def _policy(results: multiprocessing.Queue) -> None:
    results.put(os.sched_getscheduler(0))


def _policy_after_yielding(results: multiprocessing.Queue) -> None:
    worker.cpu_yield()
    _policy(results)
    pool_process = multiprocessing.get_context("fork").Process(target=_policy, args=(results,))
    pool_process.start()
    pool_process.join()


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling policies")
def test_cpu_yield_asks_for_the_idle_scheduling_policy_which_forked_pool_processes_inherit():
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_policy_after_yielding, args=(results,))
    process.start()
    process.join(timeout=30)

    assert [results.get(timeout=5), results.get(timeout=5)] == [os.SCHED_IDLE, os.SCHED_IDLE]
    assert os.sched_getscheduler(0) != os.SCHED_IDLE
