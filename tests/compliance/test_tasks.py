"""The beat sweep that expires maker-checker requests."""

from datetime import timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from apps.compliance import services
from apps.compliance.models import ApprovalRequest
from apps.compliance.tasks import approvals as tasks
from apps.core import clock
from tests.factories import ledger as ledger_factories

pytestmark = pytest.mark.django_db


def test_the_sweep_is_scheduled_every_five_minutes_on_the_compliance_queue():
    task = PeriodicTask.objects.get(task="compliance.expire_approval_requests")
    assert (task.queue, task.interval.every, task.interval.period, task.enabled) == ("compliance", 300, "seconds", True)


def test_the_sweep_expires_every_request_past_its_deadline_and_no_other(officer):
    now = clock.now()
    with time_machine.travel(now, tick=False):
        due = [services.approval_request_create(action="ledger.account_freeze", user=officer, reason="r",
                                                arguments={"account_id": str(ledger_factories.wallet().pk)})
               for _ in range(3)]
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        fresh = services.approval_request_create(action="ledger.account_freeze", user=officer, reason="r",
                                                 arguments={"account_id": str(ledger_factories.wallet().pk)})
    with time_machine.travel(now + timedelta(hours=72, seconds=1), tick=False):
        assert tasks.expire_approval_requests() == 3
        assert tasks.expire_approval_requests() == 0

    assert dict(ApprovalRequest.objects.values_list("pk", "state")) == {
        **{request.pk: "expired" for request in due}, fresh.pk: "pending"}
