"""Reading what maker-checker wrote: requests, approvals, journal steps."""

from apps.audit.models import AuditEvent
from apps.compliance.models import Approval, ApprovalPolicy, ApprovalRequest
from apps.ledger.models import Transfer


def journal(action_prefix: str = "approval_request.") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith=action_prefix).order_by("id"))


def steps() -> list[str]:
    return [event.action.removeprefix("approval_request.") for event in journal()]


def written() -> tuple[int, int, int, int, int]:
    """Everything maker-checker (and its actions) can write, counted."""
    return (ApprovalRequest.objects.count(), Approval.objects.count(), ApprovalPolicy.objects.count(),
            AuditEvent.objects.count(), Transfer.objects.count())
