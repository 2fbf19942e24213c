"""A worker's pool processes live until they grow too big, not for a count of tasks (celery_app)."""

import celery_app

MIB = 1024  # worker_max_memory_per_child is in KiB


def test_pool_processes_are_not_replaced_after_a_count_of_tasks():
    # Replacing a pool process held the payments worker's queue for about 250 ms: with a process
    # replaced every 1,000 tasks, a payment's p99 under load was up to 3 x its usual.
    assert celery_app.app.conf.worker_max_tasks_per_child is None


def test_a_pool_process_is_replaced_when_it_grows_well_past_a_fresh_one():
    # A fresh pool process holds about 110 MiB: a leak is caught long before the machine runs short.
    assert 256 * MIB <= celery_app.app.conf.worker_max_memory_per_child <= 1024 * MIB
