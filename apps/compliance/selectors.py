"""Reading maker-checker: the checkers' queue and the policies."""

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from apps.compliance.models import Approval, ApprovalPolicy, ApprovalRequest
from apps.core import clock

CHECKER_PERMISSION = "compliance.approve_approvalrequest"


def may_approve(user: Any) -> bool:
    """A checker: a Compliance supervisor, or a superuser."""
    return bool(user.is_active and user.has_perm(CHECKER_PERMISSION))


def approval_requests_awaiting(user: Any) -> QuerySet[ApprovalRequest]:
    """Pending, unexpired requests ``user`` may approve: not made by them, not yet approved by
    them (in their current version), oldest deadline first. Empty for anyone who is no checker."""
    if not may_approve(user):
        return ApprovalRequest.objects.none()
    approved_by_user = Approval.objects.filter(request=OuterRef("pk"), checker=user, voided_at__isnull=True)
    return (
        ApprovalRequest.objects.filter(state=ApprovalRequest.State.PENDING, expires_at__gt=clock.now())
        .exclude(maker=user)
        .exclude(Exists(approved_by_user))
        .order_by("expires_at")
    )


def approval_requests_awaiting_count(user: Any) -> int:
    """How many requests wait for ``user`` (the dashboard's "My approvals" tile)."""
    return approval_requests_awaiting(user).count()


def approval_policy_for(*, action: str, currency: str) -> ApprovalPolicy | None:
    """The policy for ``action`` in ``currency``, else its any-currency policy, else None."""
    policies = {p.currency: p for p in ApprovalPolicy.objects.filter(action=action, currency__in={currency, ""})}
    return policies.get(currency) or policies.get("")


def approvals_of(request: ApprovalRequest) -> QuerySet[Approval]:
    """The approvals of the request's current version."""
    return request.approvals.filter(voided_at__isnull=True).select_related("checker").order_by("approved_at")
