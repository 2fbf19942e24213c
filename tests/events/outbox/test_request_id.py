"""The request id of the work that published a task follows it into the worker's logs and rows."""

import pytest
from django.db import transaction

from apps.core import context
from apps.events.outbox.models import OutboxMessage
from apps.events.outbox.services import outbox_enqueue, outbox_sweep
from tests.support.outbox import after_sweep_grace
from tests.support.workers import broker_unreachable, drain, publish, recorded, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _probe_log_request_ids(worker, label: str) -> list[str | None]:
    return [
        entry.get("request_id") for entry in worker.log_entries()
        if entry.get("message") == "probe saw its request id" and entry.get("probe") == label
    ]


def test_a_task_published_during_a_request_runs_with_that_request_id(shared_worker):
    with context.bound(request_id="req_checkout"):
        publish("tests.record_request_id", queue="default", label="bound")
    # Published outside any request: no id, and none left over from the previous task.
    publish("tests.record_request_id", queue="default", label="unbound")
    drain("default")

    assert [entry for entry in recorded() if entry.startswith(("bound:", "unbound:"))] == [
        "bound:req_checkout", "unbound:no request id",
    ]
    wait_until(lambda: _probe_log_request_ids(shared_worker, "unbound"), message="the worker's log lines")
    assert _probe_log_request_ids(shared_worker, "bound") == ["req_checkout"]
    assert _probe_log_request_ids(shared_worker, "unbound") == [None]


def test_an_outbox_message_keeps_the_request_id_of_its_transaction_however_late_it_is_published(shared_worker):
    with context.bound(request_id="req_relayed"), transaction.atomic():
        outbox_enqueue(task="tests.record_request_id", kwargs={"label": "relayed"}, queue="default")

    # The relay could not publish (RabbitMQ down): the sweep does it later, while serving
    # another piece of work with its own request id.
    with broker_unreachable(), context.bound(request_id="req_writer"), transaction.atomic():
        swept = outbox_enqueue(task="tests.record_request_id", kwargs={"label": "swept"}, queue="default")
    assert OutboxMessage.objects.get(pk=swept.pk).published_at is None
    with after_sweep_grace(), context.bound(request_id="req_sweeper"):
        assert outbox_sweep() == 1
    drain("default")

    assert [entry for entry in recorded() if entry.startswith(("relayed:", "swept:"))] == [
        "relayed:req_relayed", "swept:req_writer",
    ]
    wait_until(lambda: _probe_log_request_ids(shared_worker, "swept"), message="the worker's log lines")
    assert _probe_log_request_ids(shared_worker, "swept") == ["req_writer"]
