"""Case work: an officer assigns a case, writes notes (append-only), attaches documents, moves it
open → investigating → escalated → closed with a disposition, releases or declines what its alerts
hold, and requests actions on its subject through maker-checker. Every step is journaled
(``case.<step>``, ``alert.hold_<decision>``); closing publishes ``compliance.case_closed``, and
closing as "STR filed" stores the goAML report and journals its SHA-256.

Lock order: the case, then its alerts, then whatever a hold handler locks.
"""

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.audit.services import audit_record
from apps.compliance import registry
from apps.compliance import services as approvals
from apps.compliance.alerts.holds import hold_handlers
from apps.compliance.alerts.services import case_event_publish, case_journal
from apps.compliance.cases import selectors
from apps.compliance.cases.str_export import StrContent, StrTransaction, str_xml
from apps.compliance.data import ACCOUNT_FREEZE, MERCHANT_ACCOUNTS_FREEZE, SubjectType
from apps.compliance.models import (
    ATTACHMENT_MAX_BYTES,
    Alert,
    ApprovalRequest,
    Case,
    CaseAttachment,
    CaseNote,
    StrReport,
)
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError

logger = logging.getLogger(__name__)
WORK_PERMISSION = "compliance.work_case"
HOLD_EXPIRY = Actor.system("compliance.hold_expiry")
Status = Case.Status
# open → investigating → escalated → closed; a case is closed from investigating or escalated.
TRANSITIONS = {
    Status.OPEN: {Status.INVESTIGATING},
    Status.INVESTIGATING: {Status.ESCALATED, Status.CLOSED},
    Status.ESCALATED: {Status.CLOSED},
    Status.CLOSED: set(),
}
# What an officer may request from a case, by whom the case is about. Payouts are held by the
# payments app's action, offered once it is registered.
MERCHANT_PAYOUTS_HOLD = "payments.merchant_payouts_hold"
MERCHANT_SUSPEND = "merchants.suspend"


class CaseWorkRefused(FincoreError):
    code = "case_work_refused"
    title = "You may not work compliance cases"
    status = 403


class CaseClosed(FincoreError):
    code = "case_closed"
    title = "The case is closed"
    status = 409


class CaseTransitionNotAllowed(FincoreError):
    code = "case_transition_not_allowed"
    title = "The case cannot move to that status"
    status = 409


class InvalidCaseWork(FincoreError):
    code = "case_work_invalid"
    title = "The case work is not valid"
    status = 422


class HoldNotWaiting(FincoreError):
    code = "hold_not_waiting"
    title = "The alert holds nothing waiting for a decision"
    status = 409


def _check_worker(user: Any) -> None:
    if not (user.is_active and user.has_perm(WORK_PERMISSION)):
        raise CaseWorkRefused()


def _open_case(case_id: Any, user: Any) -> Case:
    """The case, locked; refused to anyone who may not work cases, and when it is closed."""
    _check_worker(user)
    case = Case.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=case_id)
    if case.status == Status.CLOSED:
        raise CaseClosed(f"The case was closed on {case.closed_at:%Y-%m-%d}.")
    return case


def _payload(case: Case) -> dict[str, Any]:
    return {"status": case.status, "assignee": case.assignee.get_username() if case.assignee_id else None,
            "disposition": case.disposition}


def case_assign(*, case_id: Any, user: Any, assignee: Any, reason: str = "") -> Case:
    """Give the case to ``assignee`` (who may work cases), or to nobody (None)."""
    with transaction.atomic():
        case = _open_case(case_id, user)
        if assignee is not None:
            _check_worker(assignee)
        before = _payload(case)
        case.assignee, case.updated_at = assignee, clock.now()
        case.save(update_fields=["assignee", "updated_at"])
        case_journal(case, "assigned", actor=Actor.staff(user), before=before, reason=reason)
    return case


def case_note_add(*, case_id: Any, user: Any, body: str) -> CaseNote:
    """Append a note; notes are never edited nor deleted (the database refuses it). The journal,
    which every staff role reads, records the note's id and SHA-256, not its words: what an officer
    writes about a subject stays with those who may read the case's notes (no tipping off)."""
    if not body.strip():
        raise InvalidCaseWork("A note says something.")
    with transaction.atomic():
        case = _open_case(case_id, user)
        note = CaseNote.objects.create(case=case, author=user, body=body.strip(), created_at=clock.now())
        digest = hashlib.sha256(note.body.encode()).hexdigest()
        case_journal(case, "note_added", actor=Actor.staff(user), reason=f"Note {note.pk}, SHA-256 {digest}")
    return note


def case_attachment_add(*, case_id: Any, user: Any, filename: str, content_type: str, content: bytes
                        ) -> CaseAttachment:
    """Attach a document (at most ATTACHMENT_MAX_BYTES), kept with its SHA-256 (journaled)."""
    if not content:
        raise InvalidCaseWork("The file is empty.")
    if len(content) > ATTACHMENT_MAX_BYTES:
        raise InvalidCaseWork(f"The file is {len(content)} bytes; at most {ATTACHMENT_MAX_BYTES} may be attached.")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        case = _open_case(case_id, user)
        attachment = CaseAttachment.objects.create(
            case=case, filename=(filename or "attachment")[:255], content_type=(content_type or "")[:100]
            or "application/octet-stream", size=len(content), sha256=digest, content=content, uploaded_by=user,
            uploaded_at=clock.now())
        audit_record(actor=Actor.staff(user), action="case.attachment_added", object_type="compliance.case",
                     object_id=str(case.pk), after={"attachment": str(attachment.pk), "filename": attachment.filename,
                                                    "size": attachment.size, "sha256": digest},
                     merchant_id=str(case.merchant_id or ""))
    return attachment


def case_status_change(*, case_id: Any, user: Any, status: str, reason: str) -> Case:
    """Move the case on (investigating, escalated); closing is ``case_close``."""
    if status == Status.CLOSED:
        raise InvalidCaseWork("A case is closed with a disposition.")
    if not reason.strip():
        raise InvalidCaseWork("Say why: it is kept in the journal.")
    with transaction.atomic():
        case = _open_case(case_id, user)
        if status not in TRANSITIONS[case.status]:
            raise CaseTransitionNotAllowed(f"A case {case.get_status_display().lower()} cannot become {status}.")
        before = _payload(case)
        case.status, case.updated_at = status, clock.now()
        case.save(update_fields=["status", "updated_at"])
        case_journal(case, status, actor=Actor.staff(user), before=before, reason=reason)
    return case


def _str_content(case: Case, user: Any, reason: str) -> StrContent:
    alerts = list(case.alerts.select_related("rule"))
    activity = selectors.subject_activity(case, limit=100)
    requests = ApprovalRequest.objects.filter(case=case, state=ApprovalRequest.State.EXECUTED)
    action = "; ".join(f"{request.action_label}: {request.target_label}" for request in requests) or (
        "Case closed; no action on the accounts.")
    return StrContent(
        reporting_entity_id=settings.FINCORE_GOAML_REPORTING_ENTITY_ID, reference=ids.encode("case", case.pk),
        submitted_at=clock.now(),
        officer_first_name=user.first_name or user.get_username(), officer_last_name=user.last_name or "-",
        officer_email=user.email, subject_name=case.subject_label, subject_country="",
        reason=reason, action=action, indicators=tuple(dict.fromkeys(alert.rule.kind for alert in alerts)),
        transactions=tuple(
            StrTransaction(number=f"{event.source}:{event.source_id}", kind=event.kind, occurred_at=event.occurred_at,
                           amount=event.amount, currency=event.currency,
                           counterparty=getattr(event, "counterparty_name", ""), iban=getattr(event, "iban", ""),
                           country=getattr(event, "country", ""))
            for event in activity),
    )


def case_close(*, case_id: Any, user: Any, disposition: str, reason: str) -> Case:
    """Close the case with ``disposition`` (its alerts close with it). Refused while an alert still
    holds a payment or payout. As "STR filed", the goAML report is generated, validated, stored
    and its SHA-256 journaled."""
    if disposition not in Case.Disposition.values:
        raise InvalidCaseWork(f"{disposition!r} is not a disposition.")
    if not reason.strip():
        raise InvalidCaseWork("Say why the case closes: an STR's reason is this text.")
    with transaction.atomic():
        case = _open_case(case_id, user)
        if Status.CLOSED not in TRANSITIONS[case.status]:
            raise CaseTransitionNotAllowed("Investigate a case before closing it.")
        if case.alerts.filter(hold_state=Alert.HoldState.HELD).exists():
            raise CaseTransitionNotAllowed("Release or decline what the case's alerts hold before closing it.")
        before = _payload(case)
        now = clock.now()
        case.status, case.disposition, case.closed_at, case.closed_by, case.updated_at = (
            Status.CLOSED, disposition, now, user, now)
        case.save(update_fields=["status", "disposition", "closed_at", "closed_by", "updated_at"])
        case.alerts.update(status=Alert.Status.CLOSED)
        case_journal(case, "closed", actor=Actor.staff(user), before=before, reason=reason)
        extra: dict[str, Any] = {"disposition": disposition}
        if disposition == Case.Disposition.STR_FILED:
            report = _str_file(case, user, reason)
            extra["str_sha256"] = report.sha256
        case_event_publish(case, "case_closed", **extra)
    return case


def _str_file(case: Case, user: Any, reason: str) -> StrReport:
    xml = str_xml(_str_content(case, user, reason))
    digest = hashlib.sha256(xml).hexdigest()
    report = StrReport.objects.create(case=case, filename=f"str-{ids.encode('case', case.pk)}.xml", content=xml,
                                      sha256=digest, created_by=user, created_at=clock.now())
    audit_record(actor=Actor.staff(user), action="case.str_filed", object_type="compliance.case",
                 object_id=str(case.pk), after={"report": report.filename, "sha256": digest, "size": len(xml)},
                 reason=reason, merchant_id=str(case.merchant_id or ""))
    return report


# --- holds ----------------------------------------------------------------------------------------


def _hold_decide(alert_id: Any, *, decision: str, actor: Actor, reason: str, user: Any = None) -> Alert:
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("case").get(pk=alert_id)
        if user is not None:
            _open_case(alert.case_id, user)
        if alert.hold_state != Alert.HoldState.HELD:
            raise HoldNotWaiting(f"The alert's hold is {alert.get_hold_state_display().lower() or 'none'}.")
        handlers = hold_handlers(alert.hold_object_type)
        handler = handlers.release if decision == Alert.HoldState.RELEASED else handlers.decline
        handler(object_id=alert.hold_object_id, actor=actor, reason=reason)
        alert.hold_state, alert.hold_decided_at, alert.hold_decided_by = decision, clock.now(), actor.label
        alert.save(update_fields=["hold_state", "hold_decided_at", "hold_decided_by"])
        audit_record(actor=actor, action=f"alert.hold_{decision}", object_type="compliance.alert",
                     object_id=str(alert.pk), before={"hold_state": Alert.HoldState.HELD},
                     after={"hold_state": decision, "object_type": alert.hold_object_type,
                            "object_id": alert.hold_object_id, "case": str(alert.case_id)},
                     reason=reason, merchant_id=str(alert.merchant_id or ""))
    return alert


def alert_hold_release(*, alert_id: Any, user: Any, reason: str) -> Alert:
    """Let the held payment or payout go on (its app's release handler). Raises HoldNotWaiting."""
    if not reason.strip():
        raise InvalidCaseWork("Say why it may go on.")
    return _hold_decide(alert_id, decision=Alert.HoldState.RELEASED, actor=Actor.staff(user), reason=reason,
                        user=user)


def alert_hold_decline(*, alert_id: Any, user: Any, reason: str) -> Alert:
    """Decline the held payment or payout (its app's decline handler). Raises HoldNotWaiting."""
    if not reason.strip():
        raise InvalidCaseWork("Say why it is declined (kept in the journal; the merchant is not told).")
    return _hold_decide(alert_id, decision=Alert.HoldState.DECLINED, actor=Actor.staff(user), reason=reason,
                        user=user)


def holds_expire(*, limit: int = 100) -> int:
    """Decline holds nobody reviewed by their due time: a rule's default is decline (the beat
    sweep). Returns how many; a hold decided meanwhile is skipped."""
    declined = 0
    for alert_id in selectors.holds_due(now=clock.now())[:limit]:
        try:
            _hold_decide(alert_id, decision=Alert.HoldState.DECLINED, actor=HOLD_EXPIRY,
                         reason="Not reviewed within the rule's service level: declined by default.")
        except HoldNotWaiting:
            continue  # decided by an officer meanwhile
        except FincoreError as refused:
            # The owning app refused (its object moved on): left held, and said, for an officer.
            logger.warning("compliance: a hold past due could not be declined",
                           extra={"alert": str(alert_id), "error": refused.detail})
            continue
        declined += 1
    return declined


# --- actions through maker-checker ---------------------------------------------------------------


def case_actions(case: Case) -> list[tuple[str, str, dict[str, Any]]]:
    """What may be requested from this case: (action, label, arguments), for the registered
    actions that fit its subject (a wallet's freeze; its merchant's accounts, suspension, payouts)."""
    wanted: list[tuple[str, dict[str, Any]]] = []
    if case.subject_type == SubjectType.WALLET:
        # A wallet subject is its public id (acc_…), as monitoring records it; the ledger's freeze takes the uuid.
        wanted.append((ACCOUNT_FREEZE, {"account_id": str(ids.decode("acc", case.subject_id))}))
    if case.merchant_id:
        merchant = {"merchant_id": str(case.merchant_id)}
        wanted += [(MERCHANT_ACCOUNTS_FREEZE, merchant), (MERCHANT_SUSPEND, merchant),
                   (MERCHANT_PAYOUTS_HOLD, merchant)]
    registered = {action.name: action for action in registry.actions()}
    return [(name, registered[name].label, arguments) for name, arguments in wanted if name in registered]


def case_action_request(*, case_id: Any, user: Any, action: str, reason: str) -> ApprovalRequest:
    """Request one of ``case_actions`` for the case, linked to it (maker-checker; journaled on
    the case too). Raises the maker-checker refusals, InvalidCaseWork for an action that does not fit."""
    with transaction.atomic():
        case = _open_case(case_id, user)
        offered: Mapping[str, dict[str, Any]] = {name: arguments for name, _, arguments in case_actions(case)}
        if action not in offered:
            raise InvalidCaseWork(f"{action!r} cannot be requested from this case.")
        request = approvals.approval_request_create(action=action, arguments=offered[action], user=user,
                                                    reason=reason, case=case)
        case_journal(case, "action_requested", actor=Actor.staff(user),
                     reason=f"{request.action_label}: {request.target_label} ({request.get_state_display()})")
    return request
