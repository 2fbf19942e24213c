"""What happens to a message whose task fails: for good, transiently, or by killing its worker."""

from datetime import timedelta

import pytest

from apps.core import clock
from apps.events.outbox.models import DeadLetter
from apps.events.outbox.services import dead_letters_collect
from tests.support.time_travel import real_now
from tests.support.workers import drain, publish, queue_depth, recorded, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_that_kills_its_worker_every_time_is_dead_lettered_after_the_delivery_limit():
    normal_labels = [f"normal{number}" for number in range(4)]
    publish("tests.record", queue="payments", label=normal_labels[0])
    poison_id = publish("tests.kill_worker_process", queue="payments", label="poison")
    for label in normal_labels[1:]:
        publish("tests.record", queue="payments", label=label)

    with running_worker("payments", env={"FINCORE_TASK_MAX_DELIVERIES": "3"}) as worker:
        # The worker notices a dead pool process within 0.2 to 10 s (billiard's lost-worker wait).
        wait_until(lambda: queue_depth("payments.dead") == 1, timeout=60,
                   message="the poison message in payments.dead")
        wait_until(lambda: set(normal_labels) <= set(recorded()), message="the normal messages")
        assert worker.is_alive()

    # Three deliveries ran (and killed their pool process); the fourth was refused before it
    # ran. Without the delivery bound, reject_on_worker_lost would requeue it forever.
    assert recorded().count("poison:started") == 3
    assert sorted(entry for entry in recorded() if entry.startswith("normal")) == normal_labels
    assert queue_depth("payments") == 0

    assert dead_letters_collect() == 1
    dead_letter = DeadLetter.objects.get()
    assert (dead_letter.queue, str(dead_letter.message_id), dead_letter.task_name) == (
        "payments", poison_id, "tests.kill_worker_process"
    )
    assert dead_letter.kwargs == {"label": "poison"}
    assert dead_letter.death_reason == "rejected"
    assert dead_letter.failure == "delivered 4 times without finishing (limit 3)"
    assert dead_letter.resolution == ""
    assert queue_depth("payments.dead") == 0


def test_a_task_that_raises_is_dead_lettered_after_one_delivery_with_its_exception(shared_worker):
    # Priority 0, the lowest: a replay must not promote it to the default.
    message_id = publish("tests.always_fail", queue="ledger", priority=0, label="broken")
    wait_until(lambda: queue_depth("ledger.dead") == 1, message="the failed message in ledger.dead")
    drain("ledger")

    assert recorded().count("broken:failed") == 1  # not retried, not redelivered
    assert dead_letters_collect() == 1
    dead_letter = DeadLetter.objects.get()
    assert (str(dead_letter.message_id), dead_letter.queue, dead_letter.death_reason) == (
        message_id, "ledger", "rejected"
    )
    assert (dead_letter.task_name, dead_letter.kwargs, dead_letter.priority) == (
        "tests.always_fail", {"label": "broken"}, 0
    )
    # When RabbitMQ dead-lettered it, on RabbitMQ's clock (which FINCORE_TEST_CLOCK_OFFSET_DAYS
    # does not move); when fincore collected it, on fincore's.
    assert abs(dead_letter.dead_lettered_at - real_now()) < timedelta(minutes=1)
    assert abs(dead_letter.collected_at - clock.now()) < timedelta(minutes=1)
    assert dead_letter.failure.startswith("ValueError: broken cannot be processed")
    assert "Traceback" in dead_letter.failure


def test_a_transient_failure_is_retried_with_backoff_and_then_succeeds(shared_worker):
    message_id = publish("tests.transient_failures", queue="default", label="flaky", failures=2)
    wait_until(lambda: "flaky:done" in recorded(), message="the third attempt")
    drain("default")

    assert [entry for entry in recorded() if entry.startswith("flaky")] == [
        "flaky:attempt1:retries0", "flaky:attempt2:retries1", "flaky:attempt3:retries2", "flaky:done",
    ]
    # Each retry is a new message scheduled after a backoff (not a redelivery, not a failure).
    retries = [
        entry["message"] for entry in shared_worker.log_entries()
        if message_id in entry["message"] and " retry: Retry in " in entry["message"]
    ]
    assert len(retries) == 2, retries
    assert queue_depth("default.dead") == 0
    assert dead_letters_collect() == 0
