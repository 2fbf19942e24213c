"""A compliance officer's case, end to end on the real stack: a merchant's API calls through
gunicorn, payments processed by a payments worker, their outcome events evaluated by a compliance
worker, and the officer's work done through the services the admin calls.

Three wallet payments of 950.000 BHD from one customer wallet within the hour trip the velocity
rule (three in an hour) and the structuring rule (three amounts each within 10 % below the
1,000.000 BHD reporting threshold); both alerts are about the wallet, so they group into one case.
The officer escalates it and asks to freeze the wallet; a supervisor approves with a fresh TOTP
code; the wallet then refuses the merchant's next transfer; the case closes as "STR filed" and its
report validates against the schema fincore ships, with its SHA-256 in the journal.
"""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.compliance import services as approvals
from apps.compliance.cases import services as case_work
from apps.compliance.cases.str_export import str_validate
from apps.compliance.data import ACCOUNT_FREEZE, Severity, SubjectType
from apps.compliance.models import Alert, ApprovalRequest, Case, MonitoringRule, StrReport
from apps.core import clock, ids
from apps.ledger import selectors as ledger_selectors
from apps.payments.models import Payment
from tests.contract.live_server import Answer, LiveServer
from tests.factories.merchants import merchant_with_key
from tests.factories.routing import sandbox_seeded
from tests.factories.staff import OFFICER, SUPERVISOR, staff_user, totp_code
from tests.support.roles import roles_restore
from tests.support.workers import purge_all_queues, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

THRESHOLD = 1_000_000  # 1,000.000 BHD, the amount structuring keeps under
JUST_UNDER = 950_000


@pytest.fixture(autouse=True)
def staff_roles() -> None:
    """The roles the migrations made, put back after an earlier transactional test emptied the tables."""
    roles_restore()


@pytest.fixture
def server() -> Iterator[LiveServer]:
    live = LiveServer(workers=1).start()
    try:
        yield live
    finally:
        live.stop()


def _rules(merchant_id: Any) -> tuple[MonitoringRule, MonitoringRule]:
    common = {"severity": Severity.HIGH, "scope": MonitoringRule.Scope.MERCHANT, "scope_merchant_id": merchant_id,
              "updated_at": clock.now(), "updated_by": "test"}
    velocity = MonitoringRule.objects.create(
        name="Three wallet payments in an hour", kind=MonitoringRule.Kind.VELOCITY,
        parameters={"BHD": {"dimension": "wallet", "measure": "count", "threshold": 3, "window_minutes": 60}},
        **common)
    structuring = MonitoringRule.objects.create(
        name="Amounts kept under the reporting threshold", kind=MonitoringRule.Kind.STRUCTURING,
        parameters={"BHD": {"amount": THRESHOLD, "below_percent": 10, "count": 3, "window_minutes": 1440,
                            "dimension": "wallet"}},
        **common)
    return velocity, structuring


def test_payments_trip_two_rules_into_one_case_that_ends_with_a_frozen_wallet_and_a_filed_str(server):
    purge_all_queues()
    sandbox_seeded()
    merchant, secret = merchant_with_key()
    velocity, structuring = _rules(merchant.pk)
    officer, supervisor = staff_user(OFFICER), staff_user(SUPERVISOR)

    def call(method: str, path: str, body: dict[str, Any] | None = None, *, key: str = "") -> Answer:
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        return server.request(method, f"/api/v1/{path}", body=json.dumps(body).encode() if body else None,
                              headers=headers)

    float_account = call("POST", "accounts", {"currency": "BHD", "reference": "float", "allow_overdraft": True},
                         key="float").json()["id"]
    wallet = call("POST", "accounts", {"currency": "BHD", "reference": "customer-42"}, key="wallet").json()["id"]
    top_up = call("POST", "transfers", {"debit_account": float_account, "credit_account": wallet,
                                        "amount": 3 * JUST_UNDER + 50_000, "currency": "BHD"}, key="top-up")
    assert top_up.status == 201, top_up

    with running_worker("payments", "compliance"):
        for number in range(3):
            answer = call("POST", "payments", {
                "amount": JUST_UNDER, "currency": "BHD", "country": "BH",
                "payment_method": {"type": "wallet", "account": wallet},
            }, key=f"order-{number}")
            assert answer.status == 202, answer
        wait_until(lambda: Payment.objects.filter(status="succeeded").count() == 3, timeout=60,
                   message="three payments succeeded")
        wait_until(lambda: Alert.objects.filter(rule__in=[velocity, structuring]).count() == 2, timeout=60,
                   message="the velocity and structuring alerts")

    case = Case.objects.get()
    assert (case.subject_type, case.subject_id, case.status) == (SubjectType.WALLET, wallet, Case.Status.OPEN)
    assert {alert.rule_id for alert in case.alerts.all()} == {velocity.pk, structuring.pk}
    [velocity_alert] = case.alerts.filter(rule=velocity)
    assert velocity_alert.evidence  # the figures that tripped it are kept with it

    case_work.case_status_change(case_id=case.pk, user=officer, status=Case.Status.INVESTIGATING,
                                 reason="Three payments just under the threshold within minutes.")
    case_work.case_status_change(case_id=case.pk, user=officer, status=Case.Status.ESCALATED,
                                 reason="Pattern of structuring from one wallet.")
    freeze = case_work.case_action_request(case_id=case.pk, user=officer, action=ACCOUNT_FREEZE,
                                           reason="Stop the wallet while the STR is filed.")
    assert (freeze.state, freeze.case_id) == (ApprovalRequest.State.PENDING, case.pk)
    with pytest.raises(approvals.ApprovalRefused):  # the maker never checks their own request
        approvals.approval_request_approve(request_id=freeze.pk, user=officer, otp_token=totp_code(officer))
    approved = approvals.approval_request_approve(request_id=freeze.pk, user=supervisor,
                                                  otp_token=totp_code(supervisor))
    assert approved.state == ApprovalRequest.State.EXECUTED, approved.outcome
    assert ledger_selectors.account_get(account_id=ids.decode("acc", wallet)).frozen

    refused = call("POST", "transfers", {"debit_account": wallet, "credit_account": float_account,
                                         "amount": 1_000, "currency": "BHD"}, key="after-freeze")
    assert (refused.status, refused.json()["code"]) == (422, "account_frozen"), refused
    assert ledger_selectors.account_balances(
        account=ledger_selectors.account_get(account_id=ids.decode("acc", wallet))).posted == 50_000

    closed = case_work.case_close(case_id=case.pk, user=officer, disposition=Case.Disposition.STR_FILED,
                                  reason="Structuring below the reporting threshold; STR filed with the FIU.")
    assert closed.status == Case.Status.CLOSED
    report = StrReport.objects.get(case=case)
    str_validate(bytes(report.content))
    assert hashlib.sha256(bytes(report.content)).hexdigest() == report.sha256
    filed = AuditEvent.objects.get(action="case.str_filed", object_id=str(case.pk))
    assert report.sha256 in json.dumps(filed.after)
    assert set(Alert.objects.filter(case=case).values_list("status", flat=True)) == {Alert.Status.CLOSED}
