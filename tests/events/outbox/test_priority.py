"""A high-priority message overtakes a backlog: RabbitMQ priority queues and prefetch 1."""

import pytest

from tests.support.workers import publish, purge_queue, recorded, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BACKLOG = 30
# Long enough that publishing one message (a few ms, confirmed) never takes a whole task's
# time even on a loaded machine; short enough that the test takes a couple of seconds.
TASK_SECONDS = 0.3


def _started() -> list[str]:
    return [entry.removesuffix(":started") for entry in recorded() if entry.endswith(":started")]


def test_a_priority_9_message_runs_before_the_rest_of_a_priority_1_backlog():
    for number in range(BACKLOG):
        publish("tests.start_then_finish", queue="settlement", priority=1, label=f"low{number}",
                sleep_seconds=TASK_SECONDS)

    with running_worker("settlement", concurrency=1):
        wait_until(lambda: len(_started()) >= 2, message="the worker to be busy on the backlog")
        started_before = len(_started())
        publish("tests.start_then_finish", queue="settlement", priority=9, label="urgent",
                sleep_seconds=TASK_SECONDS)
        wait_until(lambda: "urgent" in _started(), timeout=10, message="the urgent message")
        purge_queue("settlement")  # the rest of the backlog proves nothing more

    order = _started()
    # When it was published, task number `started_before` was running (or had just finished,
    # its successor already handed out): the urgent message is the next or the one after.
    # Without x-max-priority it would wait behind all 30; with a prefetch above 1 the worker
    # would hold more backlog messages it took before the urgent one arrived.
    assert order.index("urgent") in (started_before, started_before + 1), order
    assert order[:started_before] == [f"low{number}" for number in range(started_before)]
