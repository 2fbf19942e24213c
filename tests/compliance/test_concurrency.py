"""Two checkers approve one request at the same instant: it is executed exactly once."""

import threading
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection, connections, transaction

from apps.audit.models import AuditEvent
from apps.compliance import services
from apps.compliance.models import Approval, ApprovalRequest
from apps.ledger.models import Account
from tests.factories import ledger as ledger_factories
from tests.factories.staff import staff_user, totp_code


def _granted(user: User, *codenames: str) -> User:
    # A transaction=True test may run after another one flushed the roles (a data migration's rows).
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="compliance",
                                                         codename__in=codenames))
    return User.objects.get(pk=user.pk)


def _waiting_on_locks(expected: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction, PostgreSQL's activity view is a snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0] >= expected:
                return
            time.sleep(0.02)
    raise AssertionError(f"{expected} approvals never queued on the request's lock")


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_execute_the_request_exactly_once():
    maker = _granted(staff_user(username="olivia"), "request_account_freeze")
    checkers = [_granted(staff_user(username=name), "approve_approvalrequest") for name in ("sara", "salman")]
    wallet = ledger_factories.wallet()
    request = services.approval_request_create(
        action="ledger.account_freeze", arguments={"account_id": str(wallet.pk)}, user=maker, reason="court order")
    codes = {checker.pk: totp_code(checker) for checker in checkers}
    outcomes: dict[str, object] = {}

    def approve(checker: User) -> None:
        try:
            outcomes[checker.username] = services.approval_request_approve(
                request_id=request.pk, user=checker, otp_token=codes[checker.pk]).state
        except services.RequestNotPending as refused:
            outcomes[checker.username] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(checker,)) for checker in checkers]
    # Hold the request's row so both approvals pass their checks and queue on its lock, then let go.
    with transaction.atomic():
        ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        for thread in threads:
            thread.start()
        _waiting_on_locks(2)
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["approval_request_not_pending", ApprovalRequest.State.EXECUTED]
    assert ApprovalRequest.objects.get(pk=request.pk).state == ApprovalRequest.State.EXECUTED
    assert Approval.objects.filter(request=request).count() == 1
    assert Account.objects.get(pk=wallet.pk).frozen
    assert AuditEvent.objects.filter(action="ledger.account_frozen").count() == 1
    journal = AuditEvent.objects.filter(object_id=str(request.pk)).order_by("id").values_list("action", flat=True)
    assert list(journal) == ["approval_request.requested", "approval_request.approved", "approval_request.executed"]
