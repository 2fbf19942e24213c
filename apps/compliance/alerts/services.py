"""Raising alerts and grouping them into cases.

``alert_raise`` runs in the caller's transaction (the monitoring consumer's, the screening's, or a
payment's own when a rule holds it): the alert, its case and the journal commit with what raised
them. Lock order: the subject's open case, then nothing else.
"""

from typing import Any

from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.compliance.data import Hold, Severity, Subject
from apps.compliance.models import Alert, Case, MonitoringRule
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox import services as events_services

MONITORING = Actor.system("compliance.monitoring")
# The constraint that keeps one alert per rule and event (Alert.Meta).
ALERT_ONCE = "alert_once_per_rule_event"


def _case_payload(case: Case) -> dict[str, Any]:
    return {
        "subject": {"type": case.subject_type, "id": case.subject_id, "label": case.subject_label},
        "status": case.status, "severity": case.severity, "due_at": case.due_at,
        "assignee": case.assignee.get_username() if case.assignee_id else None,
        "disposition": case.disposition,
    }


def case_journal(case: Case, step: str, *, actor: Actor, reason: str = "",
                 before: dict[str, Any] | None = None) -> None:
    """``case.<step>`` in the journal, with the case as it is now."""
    audit_record(actor=actor, action=f"case.{step}", object_type="compliance.case", object_id=str(case.pk),
                 before=before, after=_case_payload(case), reason=reason,
                 merchant_id=str(case.merchant_id or ""))


def case_event_publish(case: Case, event_type: str, **extra: Any) -> None:
    """``compliance.<event_type>`` on the outbox, for anything downstream."""
    events_services.event_publish(event_type=f"compliance.{event_type}", data={
        "case_id": str(case.pk), "subject_type": case.subject_type, "subject_id": case.subject_id,
        "merchant_id": str(case.merchant_id) if case.merchant_id else None, "severity": case.severity,
        "status": case.status, **extra,
    })


def _open_case_for(subject: Subject, severity: str) -> tuple[Case, bool]:
    """The subject's open case, locked, created if there is none; True when created."""
    for _ in range(3):
        case = (Case.objects.select_for_update().exclude(status=Case.Status.CLOSED)
                .filter(subject_type=subject.type, subject_id=subject.id).first())
        if case is not None:
            return case, False
        now = clock.now()
        case = Case(subject_type=subject.type, subject_id=subject.id, subject_label=subject.label[:255],
                    merchant_id=subject.merchant_id, severity=severity, opened_at=now, updated_at=now,
                    due_at=now + Severity.SLA[severity])
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:
            continue  # another alert opened it meanwhile: take that one
        return case, True
    raise RuntimeError(f"no open case could be found or made for {subject}")


def alert_raise(*, rule: MonitoringRule, subject: Subject, event_key: str, evidence: dict[str, Any],
                livemode: bool, hold: Hold | None = None) -> Alert | None:
    """Raise ``rule``'s alert on the event ``event_key`` about ``subject``, into the subject's open
    case (opened if there is none), in the caller's transaction. None when this rule already
    alerted on this event (nothing is written then). With ``hold``, the alert keeps that object
    waiting until an officer releases or declines it.

    The alert's unique constraint (``alert_once_per_rule_event``) decides, not a read before: an
    alert already raised (a redelivery, or a concurrent evaluation) fails the insert, and the
    savepoint takes back the case it looked up or opened."""
    try:
        return _alert_insert(rule=rule, subject=subject, event_key=event_key, evidence=evidence, livemode=livemode,
                             hold=hold)
    except IntegrityError as error:
        if error.__cause__.diag.constraint_name != ALERT_ONCE:  # psycopg2's error, which Django wraps
            raise
        return None


def _alert_insert(*, rule: MonitoringRule, subject: Subject, event_key: str, evidence: dict[str, Any],
                  livemode: bool, hold: Hold | None) -> Alert:
    with transaction.atomic():
        case, opened = _open_case_for(subject, rule.severity)
        now = clock.now()
        alert = Alert(
            rule=rule, rule_version=rule.version, event_key=event_key[:200], subject_type=subject.type,
            subject_id=subject.id, subject_label=subject.label[:255], merchant_id=subject.merchant_id,
            livemode=livemode, severity=rule.severity, evidence=evidence, case=case, created_at=now,
        )
        if hold is not None:
            alert.hold_object_type, alert.hold_object_id = hold.object_type, hold.object_id
            alert.hold_state, alert.hold_due_at = Alert.HoldState.HELD, hold.due_at
        alert.save(force_insert=True)
        if opened:
            case_journal(case, "opened", actor=MONITORING, reason=f"{rule.name}: {subject.label}")
            case_event_publish(case, "case_opened")
        else:
            before = _case_payload(case)
            severity = Severity.higher(case.severity, rule.severity)
            if severity != case.severity:
                case.severity, case.due_at = severity, min(case.due_at, case.opened_at + Severity.SLA[severity])
                case.updated_at = now
                case.save(update_fields=["severity", "due_at", "updated_at"])
                case_journal(case, "severity_raised", actor=MONITORING, before=before, reason=rule.name)
        audit_record(
            actor=MONITORING, action="alert.raised", object_type="compliance.alert", object_id=str(alert.pk),
            after={"rule": rule.name, "rule_version": rule.version, "event_key": alert.event_key,
                   "subject": {"type": subject.type, "id": subject.id, "label": alert.subject_label},
                   "severity": alert.severity, "case": str(case.pk), "evidence": evidence,
                   "hold": {"object_type": hold.object_type, "object_id": hold.object_id, "due_at": hold.due_at}
                   if hold else None},
            reason=rule.name, merchant_id=str(subject.merchant_id or ""),
        )
    return alert
