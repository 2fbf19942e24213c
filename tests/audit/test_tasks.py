"""The beat jobs: audit.seal every few seconds, audit.verify nightly (journaling a failure)."""

import logging

import pytest
from django_celery_beat.models import PeriodicTask

from apps.audit import tasks
from apps.audit.models import AuditEvent, AuditSeal
from apps.audit.selectors import ChainProblem, ChainReport, audit_chain_verify
from apps.audit.services import audit_chain_check, audit_seal_pending
from apps.audit.signing import event_signature
from apps.core.actors import Actor
from tests.audit.support import journal, triggers_bypassed
from tests.support.workers import purge_all_queues, running_worker, wait_until

pytestmark = pytest.mark.django_db


def test_the_seal_job_seals_everything_pending(monkeypatch) -> None:
    journal(5)
    # Small batches, so the job has to come back for the rest.
    monkeypatch.setattr(tasks.services, "audit_seal_pending", lambda: audit_seal_pending(batch_size=2))

    assert tasks.seal() == 5
    assert tasks.seal() == 0
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


def test_a_check_of_an_intact_chain_journals_its_success(caplog) -> None:
    """So the dashboard can tell when the chain was last proven (apps.audit.selectors)."""
    journal(2)
    audit_seal_pending()

    with caplog.at_level(logging.ERROR, logger="apps.audit.tasks"):
        assert tasks.verify() is True

    assert AuditEvent.objects.count() == 3
    success = AuditEvent.objects.get(action="audit.chain_verified")
    assert (
        success.actor_type, success.actor_id, success.object_type, success.object_id, success.before, success.after,
    ) == ("system", "audit.verify", "audit.chain", "2", None, {"sealed": 2, "pending": 0})
    assert event_signature(success) == success.signature
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_failed_check_is_journaled_and_logged(caplog) -> None:
    events = journal(3)
    audit_seal_pending()
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [events[1].pk])
    message = f"event {events[1].pk} was altered or forged: its signature does not match"

    with caplog.at_level(logging.ERROR, logger="apps.audit.tasks"):
        assert tasks.verify() is False

    failure = AuditEvent.objects.get(action="audit.chain_verification_failed")
    assert (
        failure.actor_type, failure.actor_id, failure.actor_label, failure.object_type, failure.object_id,
        failure.before, failure.after,
    ) == ("system", "audit.verify", "audit.verify", "audit.chain", str(events[1].pk), None, {"problem": message})
    assert event_signature(failure) == failure.signature
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [(record.getMessage(), record.problem) for record in errors] == [
        ("audit chain verification failed", message)
    ]
    # The failure row is itself sealed like any other; the chain still names the first bad row.
    audit_seal_pending()
    assert audit_chain_verify().problem == ChainProblem(events[1].pk, 2, message)


def test_a_check_journals_a_missing_seal_under_its_position() -> None:
    journal(3)
    audit_seal_pending()
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = 2")

    report = audit_chain_check(actor=Actor.system("audit.verify"))

    assert report == ChainReport(
        sealed=1, pending=0, problem=ChainProblem(None, 2, "seal 2 is missing (the chain jumps to seal 3)")
    )
    failure = AuditEvent.objects.get(action="audit.chain_verification_failed")
    assert (failure.object_id, failure.after) == ("2", {"problem": "seal 2 is missing (the chain jumps to seal 3)"})


def test_beat_runs_the_sealer_every_ten_seconds_and_the_proof_nightly() -> None:
    seal = PeriodicTask.objects.get(name="audit: seal new journal rows")
    verify = PeriodicTask.objects.get(name="audit: verify the hash chain")

    assert (seal.task, seal.queue, seal.priority, seal.enabled, seal.interval.every, seal.interval.period) == (
        "audit.seal", "default", 8, True, 10, "seconds"
    )
    assert (verify.task, verify.queue, verify.enabled, verify.interval) == ("audit.verify", "default", True, None)
    assert (
        verify.crontab.minute, verify.crontab.hour, verify.crontab.day_of_week, str(verify.crontab.timezone)
    ) == ("30", "2", "*", "Asia/Bahrain")
    assert (tasks.seal.name, tasks.verify.name) == ("audit.seal", "audit.verify")


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_default_queue_seals_and_verifies() -> None:
    events = journal(3)
    purge_all_queues()

    with running_worker("default"):
        tasks.seal.delay()
        wait_until(lambda: AuditSeal.objects.count() == 3, timeout=30, message="the worker to seal the journal")
        with triggers_bypassed() as cursor:
            cursor.execute("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [events[0].pk])
        tasks.verify.delay()
        wait_until(lambda: AuditEvent.objects.filter(action="audit.chain_verification_failed").exists(),
                   timeout=30, message="the worker to journal the failed verification")

    assert list(AuditSeal.objects.order_by("seq").values_list("event_id", flat=True)) == [e.pk for e in events]
    assert AuditEvent.objects.get(action="audit.chain_verification_failed").object_id == str(events[0].pk)
