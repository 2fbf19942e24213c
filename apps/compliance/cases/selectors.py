"""Reading case work: a case's timeline, the subject's recent activity, and the figures of the
dashboard (open alerts by severity, overdue cases, holds waiting)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min

from apps.audit import selectors as audit_selectors
from apps.compliance.data import Severity
from apps.compliance.models import Alert, ApprovalRequest, Case, CaseAttachment, CaseNote, MonitoredEvent
from apps.compliance.monitoring import selectors as monitoring_selectors
from apps.core import clock

ACTIVITY_SHOWN = 20


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str  # alert, note, attachment, approval_request, journal
    item: Any


def case_timeline(case: Case) -> list[TimelineEntry]:
    """Everything that happened on the case, oldest first: its alerts (with their evidence), notes,
    attachments, maker-checker requests made from it, and its journal."""
    entries = [TimelineEntry(alert.created_at, "alert", alert)
               for alert in Alert.objects.filter(case=case).select_related("rule")]
    entries += [TimelineEntry(note.created_at, "note", note)
                for note in CaseNote.objects.filter(case=case).select_related("author")]
    attachments = CaseAttachment.objects.filter(case=case).defer("content").select_related("uploaded_by")
    entries += [TimelineEntry(attachment.uploaded_at, "attachment", attachment) for attachment in attachments]
    entries += [TimelineEntry(request.created_at, "approval_request", request)
                for request in ApprovalRequest.objects.filter(case=case).select_related("maker")]
    entries += [TimelineEntry(event.occurred_at, "journal", event)
                for event in audit_selectors.audit_events_for(object_type="compliance.case", object_ids=[str(case.pk)])]
    return sorted(entries, key=lambda entry: entry.at)


def subject_activity(case: Case, *, limit: int = ACTIVITY_SHOWN) -> list[MonitoredEvent]:
    """The subject's recent payments, refunds, payouts and transfers as monitoring recorded them
    (MonitoredEvent rows, newest first)."""
    return monitoring_selectors.observations_for(subject_type=case.subject_type, subject_id=case.subject_id,
                                                 limit=limit)


def open_alerts_by_severity() -> dict[str, int]:
    counts = dict(Alert.objects.filter(status=Alert.Status.OPEN).order_by().values_list("severity")
                  .annotate(Count("pk")))
    return {severity: counts.get(severity, 0) for severity, _ in reversed(Severity.CHOICES)}


@dataclass(frozen=True, slots=True)
class Backlog:
    count: int
    oldest: datetime | None


def overdue_cases() -> Backlog:
    """Cases not closed past their due time (their severity's service level)."""
    figures = Case.objects.exclude(status=Case.Status.CLOSED).filter(due_at__lte=clock.now()).aggregate(
        count=Count("pk"), oldest=Min("due_at"))
    return Backlog(figures["count"], figures["oldest"])


def holds_waiting() -> Backlog:
    """Payments and payouts held for an officer's decision; ``oldest`` the soonest due."""
    figures = Alert.objects.filter(hold_state=Alert.HoldState.HELD).aggregate(count=Count("pk"),
                                                                              oldest=Min("hold_due_at"))
    return Backlog(figures["count"], figures["oldest"])


def holds_due(*, now: datetime) -> list[Any]:
    return list(Alert.objects.filter(hold_state=Alert.HoldState.HELD, hold_due_at__lte=now)
                .order_by("hold_due_at").values_list("pk", flat=True))
