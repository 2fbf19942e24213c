import pytest
from celery import current_app

from apps.core import context
from tests.support.workers import purge_all_queues, recorded, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_runs_a_task_with_the_request_id():
    purge_all_queues()
    with context.bound(request_id="req_smoke"):
        current_app.send_task("tests.record_request_id", queue="default")
    with running_worker("default"):
        wait_until(lambda: recorded() == ["req_smoke"], message="the probe")
