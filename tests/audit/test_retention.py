"""Retention: the journal is kept at least five years (CBB rulebook FC-7.1.1), and no scheduled
job deletes it; the purges that run nightly forget messages and keys, never journal rows."""

from datetime import timedelta

import pytest
import time_machine

from apps.audit import tasks as audit_tasks
from apps.audit.models import AuditEvent, AuditSeal
from apps.core import clock
from apps.core import tasks as core_tasks
from apps.events import tasks as events_tasks
from tests.audit.support import journal, sealed

pytestmark = pytest.mark.django_db


def test_six_years_on_the_nightly_purges_and_the_audit_jobs_leave_every_journal_row() -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        events = journal(3)
        sealed()
        kept = list(AuditEvent.objects.order_by("id").values_list("id", "signature"))
        seals = list(AuditSeal.objects.order_by("seq").values_list("seq", "hash"))
        traveller.shift(timedelta(days=6 * 366))

        events_tasks.purge()
        core_tasks.idempotency_purge()
        audit_tasks.seal()
        assert audit_tasks.verify() is True

    assert list(AuditEvent.objects.filter(pk__in=[event.pk for event in events]).order_by("id").values_list(
        "id", "signature")) == kept
    assert list(AuditSeal.objects.filter(seq__lte=3).order_by("seq").values_list("seq", "hash")) == seals
