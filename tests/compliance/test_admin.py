"""Maker-checker in the admin: the requests, My approvals, approve and reject, the request forms."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.compliance import services
from apps.compliance.models import Approval, ApprovalRequest
from apps.core import clock, ids
from apps.ledger.models import Account
from apps.routing.models import Connector
from tests.compliance.helpers import written
from tests.factories import ledger as ledger_factories
from tests.factories.ledger import FACTORY_ACTOR
from tests.factories.routing import sandbox_seeded
from tests.factories.staff import SUPERVISOR, signed_in_client, staff_user, totp_code

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/compliance/approvalrequest/"


def _url(request: ApprovalRequest, view: str = "change") -> str:
    return f"{CHANGELIST}{request.pk}/{view}/"


def _adjustment_request(maker, amount: int = 12500) -> ApprovalRequest:
    suspense = ledger_factories.account(code=Account.Code.SUSPENSE)
    fee_revenue = ledger_factories.account(code=Account.Code.FEE_REVENUE)
    return services.approval_request_create(
        action="ledger.adjustment", user=maker, reason="fee charged twice",
        arguments={"debit_account_id": str(suspense.pk), "credit_account_id": str(fee_revenue.pk), "amount": amount,
                   "currency": "BHD", "reason_code": "fee_correction", "note": "invoice 44 charged twice"})


def _freeze(maker) -> ApprovalRequest:
    return services.approval_request_create(
        action="ledger.account_freeze", arguments={"account_id": str(ledger_factories.wallet().pk)}, user=maker,
        reason="court order")


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_the_requests_changelist_shows_money_and_costs_the_same_for_3_or_30(treasury, supervisor):
    client = signed_in_client(supervisor)
    for amount in (12500, 1, 999):
        _adjustment_request(treasury, amount)
    few = _changelist_queries(client)
    for amount in range(1000, 1027):
        _adjustment_request(treasury, amount)

    assert _changelist_queries(client) == few
    html = client.get(CHANGELIST).content.decode()
    assert "12.500 BHD" in html and "0.001 BHD" in html
    assert "12500" not in html.replace(str(ApprovalRequest.objects.get(amount=12500).pk), "")


def test_filters_by_state_action_and_my_approvals(officer, treasury, supervisor):
    freeze = _freeze(officer)
    adjustment = _adjustment_request(treasury)
    mine = _freeze(staff_user(username="root", superuser=True))
    services.approval_request_reject(request_id=adjustment.pk, user=supervisor, reason="no invoice")
    client = signed_in_client(supervisor)

    def listed(query: str) -> set:
        return set(client.get(CHANGELIST + query).context["cl"].result_list)

    assert listed("?state=pending") == {freeze, mine}
    assert listed("?action=ledger.adjustment") == {adjustment}
    assert listed("?awaiting=me") == {freeze, mine}
    my_approvals = client.get(CHANGELIST + "my-approvals/")
    assert my_approvals.status_code == 302 and my_approvals["Location"] == CHANGELIST + "?awaiting=me"
    boss = ApprovalRequest.objects.get(pk=mine.pk).maker
    assert set(signed_in_client(boss).get(CHANGELIST + "?awaiting=me").context["cl"].result_list) == {freeze}


def test_the_request_page_shows_the_payload_readably_and_offers_decisions_to_checkers_only(treasury, supervisor,
                                                                                           support):
    request = _adjustment_request(treasury)

    checker_page = signed_in_client(supervisor).get(_url(request)).content.decode()
    support_page = signed_in_client(support).get(_url(request))

    assert "12.500 BHD" in checker_page and "invoice 44 charged twice" in checker_page
    assert _url(request, "approve") in checker_page and _url(request, "reject") in checker_page
    assert support_page.status_code == 200
    assert _url(request, "approve") not in support_page.content.decode()


def test_approving_in_the_admin_asks_for_a_fresh_code_then_executes(officer, supervisor):
    request = _freeze(officer)
    client = signed_in_client(supervisor)

    form = client.get(_url(request, "approve"))
    assert form.status_code == 200
    assert "court order" in form.content.decode()
    before = written()
    wrong = client.post(_url(request, "approve"), {"otp_token": "000000" if totp_code(supervisor) != "000000"
                                                   else "111111"})
    assert wrong.status_code == 200
    assert wrong.context["form"].non_field_errors() == ["The code is not a fresh code of your authenticator"]
    assert written() == before

    # django-otp throttles after a wrong code (1 s after the first): the checker tries again later.
    with time_machine.travel(clock.now() + timedelta(seconds=2), tick=False):
        done = client.post(_url(request, "approve"), {"otp_token": totp_code(supervisor)})

    assert done.status_code == 302 and done["Location"] == _url(request)
    assert ApprovalRequest.objects.get(pk=request.pk).state == "executed"
    assert Account.objects.get(pk=request.target_id).frozen
    messages = [str(m) for m in client.get(done["Location"]).context["messages"]]
    assert messages[0].startswith("Approved and executed: Customer wallet acc_")


def test_rejecting_in_the_admin_needs_a_reason(officer, supervisor):
    request = _freeze(officer)
    client = signed_in_client(supervisor)

    assert client.post(_url(request, "reject"), {"reason": ""}).context["form"].errors == {
        "reason": ["This field is required."]}
    done = client.post(_url(request, "reject"), {"reason": "no court order attached"})

    assert done.status_code == 302
    assert ApprovalRequest.objects.values_list("state", "outcome").get(pk=request.pk) == (
        "rejected", "no court order attached")


def test_makers_and_support_cannot_reach_the_approve_and_reject_forms(officer, treasury, support):
    request = _freeze(officer)
    for user in (officer, treasury, support):
        client = signed_in_client(user)
        assert client.get(_url(request, "approve")).status_code == 403
        assert client.post(_url(request, "approve"), {"otp_token": totp_code(user)}).status_code == 403
        assert client.post(_url(request, "reject"), {"reason": "x"}).status_code == 403
    assert ApprovalRequest.objects.get(pk=request.pk).state == "pending"
    assert not Approval.objects.exists()


def test_a_superuser_maker_is_refused_on_their_own_request():
    boss = staff_user(username="root", superuser=True)
    request = _freeze(boss)

    page = signed_in_client(boss).post(_url(request, "approve"), {"otp_token": totp_code(boss)})

    assert page.status_code == 200
    assert page.context["form"].non_field_errors() == ["The maker of a request cannot approve or reject it"]
    assert ApprovalRequest.objects.get(pk=request.pk).state == "pending"


def test_the_account_page_links_to_a_freeze_request(officer, supervisor):
    wallet = ledger_factories.wallet()
    client = signed_in_client(officer)
    page = client.get(f"/admin/ledger/account/{wallet.pk}/change/").content.decode()
    link = f"{CHANGELIST}new/ledger.account_freeze/?account_id={wallet.pk}"
    assert link in page

    form = client.get(link)
    assert form.status_code == 200
    assert "acc_" in form.content.decode()
    done = client.post(link, {"reason": "court order 12/2026"})

    request = ApprovalRequest.objects.get()
    assert done.status_code == 302 and done["Location"] == _url(request)
    assert (request.action, request.arguments, request.maker) == (
        "ledger.account_freeze", {"account_id": str(wallet.pk)}, officer)
    # A checker-only role may not request it.
    assert signed_in_client(supervisor).get(link).status_code == 403


def test_the_adjustment_form_takes_major_units_exactly(treasury, officer):
    suspense = ledger_factories.account(code=Account.Code.SUSPENSE)
    fee_revenue = ledger_factories.account(code=Account.Code.FEE_REVENUE)
    url = CHANGELIST + "adjustment/"
    client = signed_in_client(treasury)
    fields = {"debit_account": ids.encode("acc", suspense.pk), "credit_account": ids.encode("acc", fee_revenue.pk),
              "reason_code": "suspense_clearance", "note": "statement line 2026-11-30/7 explained"}

    too_precise = client.post(url, {**fields, "amount": "12.5000"})
    assert "allows at most 3" in too_precise.context["form"].errors["amount"][0]
    nostro = ledger_factories.account(code=Account.Code.NOSTRO)
    refused = client.post(url, {**fields, "amount": "1", "debit_account": ids.encode("acc", nostro.pk)})
    assert "adjustments move money only between" in refused.context["form"].non_field_errors()[0]
    assert not ApprovalRequest.objects.exists()

    done = client.post(url, {**fields, "amount": "12.5"})

    request = ApprovalRequest.objects.get()
    assert done.status_code == 302
    assert (request.amount, request.currency, request.arguments["amount"], request.reason) == (
        12500, "BHD", 12500, "statement line 2026-11-30/7 explained")
    assert signed_in_client(officer).get(url).status_code == 403


def test_a_policy_change_is_requested_from_the_policies_page(officer, supervisor):
    client = signed_in_client(officer)
    url = "/admin/compliance/approvalpolicy/request-change/"

    done = client.post(url, {"action": "ledger.adjustment", "currency": "bhd", "requires_approval": "on",
                             "threshold": "50", "approvals_required": "1", "expires_after_hours": "24",
                             "reason": "small fixes need no second person"})

    request = ApprovalRequest.objects.get()
    assert done.status_code == 302
    assert request.arguments == {"action": "ledger.adjustment", "currency": "BHD", "requires_approval": True,
                                 "threshold": 50000, "approvals_required": 1, "expires_after_hours": 24}
    assert "50.000 BHD" in request.target_label
    assert signed_in_client(supervisor).get(url).status_code == 403


def test_a_connector_is_disabled_through_a_request(treasury, supervisor):
    sandbox_seeded()
    connector = Connector.objects.filter(enabled=True).order_by("name").first()
    client = signed_in_client(treasury)

    page = client.get(f"/admin/routing/connector/{connector.pk}/change/")
    assert "enabled" not in page.context["adminform"].form.fields
    done = client.post("/admin/routing/connector/", {"action": "request_disabling", "apply": "1",
                                                     "_selected_action": [connector.pk], "change_reason": "outage"})

    assert done.status_code == 302
    assert Connector.objects.get(pk=connector.pk).enabled
    request = ApprovalRequest.objects.get()
    assert request.arguments == {"name": connector.name, "changes": {"enabled": False}}
    services.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=totp_code(supervisor))
    assert not Connector.objects.get(pk=connector.pk).enabled
    assert ApprovalRequest.objects.get(pk=request.pk).state == "executed"


def test_support_sees_requests_and_policies_but_can_request_nothing(officer, support):
    _freeze(officer)
    client = signed_in_client(support)

    assert client.get(CHANGELIST).status_code == 200
    assert client.get("/admin/compliance/approvalpolicy/").status_code == 200
    for url in (CHANGELIST + "adjustment/", "/admin/compliance/approvalpolicy/request-change/",
                f"{CHANGELIST}new/ledger.account_freeze/?account_id={ledger_factories.wallet().pk}"):
        assert client.get(url).status_code == 403, url
    assert staff_user(SUPERVISOR).has_perm("compliance.view_approvalrequest")


def test_the_maker_edits_a_pending_adjustment_and_its_approvals_are_voided(treasury, supervisor, officer):
    services.approval_policy_set(action="ledger.adjustment", currency="", requires_approval=True, threshold=None,
                                 approvals_required=2, expires_after_hours=72, actor=FACTORY_ACTOR, reason="setup")
    request = _adjustment_request(treasury)
    services.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=totp_code(supervisor))
    client = signed_in_client(treasury)

    assert _url(request, "edit") in client.get(_url(request)).content.decode()
    page = client.get(_url(request, "edit"))
    assert page.context["form"].initial["amount"] == "12.500"
    data = {**page.context["form"].initial, "amount": "10", "edit_reason": "the fee was 10.000"}
    done = client.post(_url(request, "edit"), data)

    assert done.status_code == 302
    edited = ApprovalRequest.objects.get(pk=request.pk)
    assert (edited.version, edited.amount, edited.arguments["amount"], edited.state) == (2, 10000, 10000, "pending")
    assert not Approval.objects.filter(request=request, voided_at__isnull=True).exists()
    assert signed_in_client(officer).get(_url(request, "edit")).status_code == 403
    assert signed_in_client(supervisor).get(_url(request, "edit")).status_code == 403


def test_the_changelists_link_to_my_approvals_and_the_request_forms(treasury, officer, supervisor):
    adjustment, policy = CHANGELIST + "adjustment/", "/admin/compliance/approvalpolicy/request-change/"

    by_role = {
        user.username: (signed_in_client(user).get(CHANGELIST).content.decode(),
                        signed_in_client(user).get("/admin/compliance/approvalpolicy/").content.decode())
        for user in (treasury, officer, supervisor)
    }

    assert all(CHANGELIST + "my-approvals/" in requests for requests, _ in by_role.values())
    assert [adjustment in requests for requests, _ in by_role.values()] == [True, False, False]
    assert [policy in policies for _, policies in by_role.values()] == [False, True, False]
