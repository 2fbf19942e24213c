"""Maker-checker with Fineract's semantics, through the services."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.compliance import selectors, services
from apps.compliance.models import Approval, ApprovalRequest
from apps.core import clock
from apps.ledger import data as ledger_data
from apps.ledger import services as ledger_services
from apps.ledger.models import Account, Transfer
from tests.compliance.helpers import journal, steps, written
from tests.factories import ledger as ledger_factories
from tests.factories.staff import SUPERVISOR, staff_user, totp_code

pytestmark = pytest.mark.django_db

State = ApprovalRequest.State


def _freeze(user, account: Account, reason: str = "court order 12/2026") -> ApprovalRequest:
    return services.approval_request_create(
        action="ledger.account_freeze", arguments={"account_id": str(account.pk)}, user=user, reason=reason)


def _approve(request: ApprovalRequest, checker) -> ApprovalRequest:
    return services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))


def _adjustment(amount: int, *, debit: Account, credit: Account, note: str = "fee charged twice") -> dict:
    return {"debit_account_id": str(debit.pk), "credit_account_id": str(credit.pk), "amount": amount,
            "currency": debit.currency, "reason_code": "fee_correction", "note": note}


@pytest.fixture
def suspense() -> Account:
    return ledger_factories.account(code=Account.Code.SUSPENSE)


@pytest.fixture
def fee_revenue() -> Account:
    return ledger_factories.account(code=Account.Code.FEE_REVENUE)


def test_a_freeze_requested_then_approved_freezes_the_account_and_it_refuses_transfers(officer, supervisor):
    wallet = ledger_factories.wallet()
    source = ledger_factories.fund(wallet, 5000)

    request = _freeze(officer, wallet)

    assert (request.state, request.target_type, request.target_id) == (State.PENDING, "ledger.account", str(wallet.pk))
    assert request.expires_at == request.created_at + timedelta(hours=72)
    assert not Account.objects.get(pk=wallet.pk).frozen
    assert steps() == ["requested"]

    decided = _approve(request, supervisor)

    assert (decided.state, decided.decided_by, decided.outcome) == (
        State.EXECUTED, supervisor, f"Customer wallet acc_{_public(wallet)} (BHD) frozen.")
    assert Account.objects.get(pk=wallet.pk).frozen
    assert steps() == ["requested", "approved", "executed"]
    requested, approved, executed = journal()
    assert (requested.actor_label, approved.actor_label, executed.actor_label) == (
        "olivia", "sara", "olivia, approved by sara")
    assert executed.after["arguments"] == {"account_id": str(wallet.pk)}
    assert executed.after["approved_by"] == ["sara"]
    assert executed.reason == "court order 12/2026"
    [frozen] = journal("ledger.account_frozen")
    assert (frozen.actor_id, frozen.actor_label, frozen.reason) == (
        str(officer.pk), "olivia, approved by sara", "court order 12/2026")

    before = ledger_factories.balances(wallet)
    refused = ledger_factories.post_one(source, wallet, 100)
    assert refused.result == ledger_data.Result.ACCOUNT_FROZEN
    with pytest.raises(ledger_services.REFUSALS[ledger_data.Result.ACCOUNT_FROZEN]):
        ledger_services.transfer_create(spec=ledger_factories.spec(wallet, source, 100))
    assert ledger_factories.balances(wallet) == before == (0, 0, 0, 5000)


def _public(account: Account) -> str:
    from apps.core import ids

    return ids.encode("acc", account.pk).removeprefix("acc_")


def test_an_unfreeze_needs_a_checker_too_and_lets_transfers_through_again(officer, supervisor, second_supervisor):
    wallet = ledger_factories.wallet()
    source = ledger_factories.fund(wallet, 5000)
    _approve(_freeze(officer, wallet), supervisor)

    unfreeze = services.approval_request_create(
        action="ledger.account_unfreeze", arguments={"account_id": str(wallet.pk)}, user=officer, reason="lifted")
    assert Account.objects.get(pk=wallet.pk).frozen
    # Each approval spends a code: one code, one approval.
    _approve(unfreeze, second_supervisor)

    assert not Account.objects.get(pk=wallet.pk).frozen
    assert ledger_factories.post_one(source, wallet, 100).result == ledger_data.Result.OK
    assert [(e.action, e.object_id) for e in journal("ledger.account_") if "frozen" in e.action] == [
        ("ledger.account_frozen", str(wallet.pk)), ("ledger.account_unfrozen", str(wallet.pk))]


def test_the_maker_cannot_approve_their_own_request_even_as_a_superuser(supervisor):
    boss = staff_user(username="root", superuser=True)
    request = _freeze(boss, ledger_factories.wallet())
    before = written()

    with pytest.raises(services.MakerCannotCheck):
        _approve(request, boss)
    with pytest.raises(services.MakerCannotCheck):
        services.approval_request_reject(request_id=request.pk, user=boss, reason="changed my mind")

    assert written() == before
    assert ApprovalRequest.objects.get().state == State.PENDING
    # Another person may: a superuser is a checker.
    assert _approve(request, supervisor).state == State.EXECUTED


def test_a_checker_only_role_cannot_initiate_and_support_can_do_nothing(supervisor, support, officer):
    wallet = ledger_factories.wallet()
    before = written()

    with pytest.raises(services.NotAMaker):
        _freeze(supervisor, wallet)
    with pytest.raises(services.NotAMaker):
        _freeze(support, wallet)
    request = _freeze(officer, wallet)
    after_request = written()
    with pytest.raises(services.NotAChecker):
        _approve(request, support)
    with pytest.raises(services.NotAChecker):
        services.approval_request_reject(request_id=request.pk, user=support, reason="no")

    assert before[0] == 0
    assert written() == after_request
    assert ApprovalRequest.objects.get().state == State.PENDING


def test_a_second_identical_pending_request_is_refused_and_nothing_is_written(officer, supervisor):
    wallet = ledger_factories.wallet()
    other = staff_user("Compliance officer", username="omar")
    first = _freeze(officer, wallet)
    before = written()

    with pytest.raises(services.DuplicateRequest):
        _freeze(other, wallet, reason="same thing, asked again")

    assert written() == before
    # Once the first is decided, the same request may be made again.
    services.approval_request_reject(request_id=first.pk, user=supervisor, reason="no court order attached")
    assert _freeze(other, wallet).state == State.PENDING


def test_editing_a_pending_request_voids_its_approvals(treasury, supervisor, second_supervisor, suspense,
                                                       fee_revenue):
    boss = staff_user(username="root", superuser=True)
    policy = services.approval_request_create(
        action="compliance.policy_change", user=boss, reason="two checkers for adjustments",
        arguments={"action": "ledger.adjustment", "currency": "", "requires_approval": True, "threshold": None,
                   "approvals_required": 2, "expires_after_hours": 72})
    _approve(policy, staff_user(SUPERVISOR, username="sven"))
    request = services.approval_request_create(
        action="ledger.adjustment", arguments=_adjustment(12500, debit=suspense, credit=fee_revenue),
        user=treasury, reason="fee charged twice")
    assert request.approvals_required == 2
    _approve(request, supervisor)
    assert Approval.objects.filter(request=request, voided_at__isnull=True).count() == 1

    with pytest.raises(services.NotTheMaker):
        services.approval_request_edit(request_id=request.pk, user=boss, reason="x",
                                       arguments=_adjustment(1, debit=suspense, credit=fee_revenue))
    edited = services.approval_request_edit(
        request_id=request.pk, user=treasury, reason="the fee was 10.000, not 12.500",
        arguments=_adjustment(10000, debit=suspense, credit=fee_revenue))

    assert (edited.version, edited.amount, edited.state) == (2, 10000, State.PENDING)
    assert Approval.objects.filter(request=request, voided_at__isnull=True).count() == 0
    assert Approval.objects.filter(request=request, voided_at__isnull=False).count() == 1
    [edit_event] = [e for e in journal() if e.action == "approval_request.edited"]
    assert (edit_event.before["amount"], edit_event.after["amount"], edit_event.after["money"]) == (
        12500, 10000, "10.000 BHD")
    assert edit_event.before["approved_by"] == ["sara"] and edit_event.after["approved_by"] == []

    # The same checker approves the new version (with the next code); a second checker completes it.
    with time_machine.travel(clock.now() + timedelta(seconds=31), tick=False):
        assert _approve(edited, supervisor).state == State.PENDING
        with pytest.raises(services.AlreadyApproved):
            services.approval_request_approve(request_id=request.pk, user=supervisor, otp_token="123456")
        done = _approve(edited, second_supervisor)

    assert done.state == State.EXECUTED
    [transfer] = Transfer.objects.filter(code="adjustment")
    assert (transfer.amount, transfer.debit_account_id, transfer.credit_account_id) == (10000, suspense.pk,
                                                                                       fee_revenue.pk)
    assert transfer.metadata == {"reason_code": "fee_correction", "note": "fee charged twice"}


def test_approving_asks_for_a_fresh_code_of_the_checker(officer, supervisor, second_supervisor):
    request = _freeze(officer, ledger_factories.wallet())
    current = totp_code(supervisor)
    stale = totp_code(supervisor, steps=-20)
    someone_elses = totp_code(second_supervisor)
    before = written()

    for refused_code in ["", "not-a-code", str((int(current) + 1) % 1_000_000).zfill(6), stale, someone_elses]:
        if refused_code in (current, totp_code(supervisor, steps=-1), totp_code(supervisor, steps=1)):
            continue  # a collision of six digits: that code would rightly be accepted
        # Each refusal on its own merits: django-otp would refuse anything for a while after a failure.
        TOTPDevice.objects.get(user=supervisor).throttle_reset()
        with pytest.raises(services.InvalidOtpCode):
            services.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=refused_code)
    assert written() == before
    assert TOTPDevice.objects.get(user=supervisor).throttling_failure_count == 1

    # A code used once (here, for another approval) is not fresh any more.
    other = _freeze(officer, ledger_factories.wallet())
    code = totp_code(second_supervisor)
    services.approval_request_approve(request_id=other.pk, user=second_supervisor, otp_token=code)
    with pytest.raises(services.InvalidOtpCode):
        services.approval_request_approve(request_id=request.pk, user=second_supervisor, otp_token=code)
    assert ApprovalRequest.objects.get(pk=request.pk).state == State.PENDING
    assert not Approval.objects.filter(request=request).exists()
    # The checker's current code works.
    TOTPDevice.objects.get(user=supervisor).throttle_reset()
    assert _approve(request, supervisor).state == State.EXECUTED


def test_a_rejection_needs_a_reason_and_the_maker_reads_it(officer, supervisor):
    request = _freeze(officer, ledger_factories.wallet())

    with pytest.raises(services.InvalidRequest):
        services.approval_request_reject(request_id=request.pk, user=supervisor, reason="  ")
    rejected = services.approval_request_reject(request_id=request.pk, user=supervisor, reason="no court order")

    assert (rejected.state, rejected.outcome, rejected.decided_by) == (State.REJECTED, "no court order", supervisor)
    assert steps() == ["requested", "rejected"]
    assert journal()[-1].reason == "no court order"
    assert not Account.objects.get(pk=request.target_id).frozen
    with pytest.raises(services.RequestNotPending):
        _approve(rejected, supervisor)


def test_a_request_expires_after_72_hours_and_can_never_be_approved(officer, supervisor):
    now = clock.now()
    with time_machine.travel(now, tick=False):
        swept = _freeze(officer, ledger_factories.wallet())
        tried = _freeze(officer, ledger_factories.wallet())
    with time_machine.travel(now + timedelta(hours=71, minutes=59), tick=False):
        assert services.approval_requests_expire() == 0
        assert set(selectors.approval_requests_awaiting(supervisor)) == {swept, tried}
    with time_machine.travel(now + timedelta(hours=72), tick=False):
        assert list(selectors.approval_requests_awaiting(supervisor)) == []
        with pytest.raises(services.RequestExpired):
            _approve(tried, supervisor)
        assert services.approval_requests_expire() == 1

    assert dict(ApprovalRequest.objects.values_list("pk", "state")) == {swept.pk: State.EXPIRED,
                                                                        tried.pk: State.EXPIRED}
    assert not Approval.objects.exists()
    assert not Account.objects.filter(frozen=True).exists()
    assert [(e.action, e.actor_label) for e in journal() if e.action == "approval_request.expired"] == [
        ("approval_request.expired", "compliance.approval_expiry")] * 2
    with pytest.raises(services.RequestNotPending):
        _approve(swept, supervisor)


def test_a_policy_sets_a_shorter_expiry_for_one_action(officer, supervisor):
    boss = staff_user(username="root", superuser=True)
    _approve(services.approval_request_create(
        action="compliance.policy_change", user=boss, reason="freezes are urgent",
        arguments={"action": "ledger.account_freeze", "currency": "", "requires_approval": True, "threshold": None,
                   "approvals_required": 1, "expires_after_hours": 4}), supervisor)

    request = _freeze(officer, ledger_factories.wallet())

    assert request.expires_at == request.created_at + timedelta(hours=4)


def test_a_refused_service_leaves_the_request_failed_with_its_reason(treasury, supervisor, fee_revenue):
    merchant_id = uuid.uuid4()
    # Live pending, available, reserve, then test money's: the merchant's available account is empty.
    available = ledger_services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])[1]
    assert (available.code, available.livemode) == ("merchant_available", True)
    request = services.approval_request_create(
        action="ledger.adjustment", arguments=_adjustment(2500, debit=available, credit=fee_revenue),
        user=treasury, reason="fee owed")

    failed = _approve(request, supervisor)

    assert (failed.state, failed.outcome) == (State.FAILED, "The debit account may not owe more than it holds")
    assert steps() == ["requested", "approved", "failed"]
    assert journal()[-1].after["outcome"] == "The debit account may not owe more than it holds"
    assert not Transfer.objects.filter(code="adjustment").exists()
    assert not journal("ledger.adjustment_posted")


def test_an_adjustment_under_the_threshold_is_executed_at_once_and_journaled(treasury, supervisor, suspense,
                                                                              fee_revenue):
    boss = staff_user(username="root", superuser=True)
    _approve(services.approval_request_create(
        action="compliance.policy_change", user=boss, reason="small corrections need no second person",
        arguments={"action": "ledger.adjustment", "currency": "BHD", "requires_approval": True, "threshold": 50000,
                   "approvals_required": 1, "expires_after_hours": 72}), supervisor)

    small = services.approval_request_create(
        action="ledger.adjustment", arguments=_adjustment(50000, debit=suspense, credit=fee_revenue),
        user=treasury, reason="fee charged twice")
    large = services.approval_request_create(
        action="ledger.adjustment", arguments=_adjustment(50001, debit=suspense, credit=fee_revenue),
        user=treasury, reason="fee charged twice")

    assert (small.state, small.decided_by, small.outcome[:8]) == (State.EXECUTED, None, "Posted t")
    assert large.state == State.PENDING
    assert list(Transfer.objects.filter(code="adjustment").values_list("amount", flat=True)) == [50000]
    executed = [e for e in journal() if e.object_id == str(small.pk)]
    assert [(e.action, e.actor_label) for e in executed] == [("approval_request.requested", "tariq"),
                                                             ("approval_request.executed", "tariq")]


def test_changing_a_policy_is_itself_a_maker_checker_action(officer, supervisor, support):
    arguments = {"action": "merchants.suspend", "currency": "", "requires_approval": False, "threshold": None,
                 "approvals_required": 1, "expires_after_hours": 72}
    with pytest.raises(services.NotAMaker):
        services.approval_request_create(action="compliance.policy_change", arguments=arguments, user=support,
                                         reason="x")
    request = services.approval_request_create(action="compliance.policy_change", arguments=arguments,
                                               user=officer, reason="suspensions are routine")
    assert request.state == State.PENDING
    assert not journal("approval_policy.")

    _approve(request, supervisor)

    [changed] = journal("approval_policy.")
    assert (changed.before, changed.after, changed.actor_label) == (None, arguments, "olivia, approved by sara")
    # A policy can never switch off the checker of policy changes.
    with pytest.raises(services.InvalidRequest):
        services.approval_request_create(
            action="compliance.policy_change", user=officer, reason="x",
            arguments={**arguments, "action": "compliance.policy_change"})


@pytest.mark.parametrize(("arguments", "message"), [
    ({"account_id": "not-a-uuid"}, "There is no account not-a-uuid."),
    ({"account_id": str(uuid.UUID(int=7))}, f"There is no account {uuid.UUID(int=7)}."),
])
def test_a_request_for_no_target_is_refused(officer, arguments, message):
    with pytest.raises(services.InvalidRequest, match=message):
        services.approval_request_create(action="ledger.account_freeze", arguments=arguments, user=officer,
                                         reason="x")
    assert written()[0] == 0


def test_adjustments_only_move_money_between_suspense_fee_revenue_and_merchants(treasury, fee_revenue):
    nostro = ledger_factories.account(code=Account.Code.NOSTRO)
    with pytest.raises(services.InvalidRequest, match="adjustments move money only between"):
        services.approval_request_create(
            action="ledger.adjustment", arguments=_adjustment(100, debit=nostro, credit=fee_revenue),
            user=treasury, reason="x")
    wallet = ledger_factories.wallet()
    with pytest.raises(services.InvalidRequest, match="adjustments move money only between"):
        services.approval_request_create(
            action="ledger.adjustment", arguments=_adjustment(100, debit=fee_revenue, credit=wallet),
            user=treasury, reason="x")
    assert written()[0] == 0


def test_the_checkers_queue(officer, supervisor, second_supervisor, support):
    boss = staff_user(username="root", superuser=True)
    by_officer = _freeze(officer, ledger_factories.wallet())
    by_boss = _freeze(boss, ledger_factories.wallet())
    decided = _freeze(officer, ledger_factories.wallet())
    services.approval_request_reject(request_id=decided.pk, user=supervisor, reason="no")

    assert list(selectors.approval_requests_awaiting(supervisor)) == [by_officer, by_boss]
    assert list(selectors.approval_requests_awaiting(boss)) == [by_officer]
    assert selectors.approval_requests_awaiting_count(second_supervisor) == 2
    assert selectors.approval_requests_awaiting_count(officer) == 0
    assert selectors.approval_requests_awaiting_count(support) == 0


def test_every_sensitive_action_is_registered():
    from apps.compliance import registry

    assert {action.name: action.permission for action in registry.actions()} == {
        "compliance.high_risk_jurisdiction_set": "compliance.request_jurisdiction_change",
        "compliance.monitoring_rule_set": "compliance.request_monitoring_rule_change",
        "compliance.policy_change": "compliance.request_policy_change",
        "compliance.risk_tier_set": "compliance.request_risk_tier_change",
        "compliance.sanctions_allow_list": "compliance.request_sanctions_allow_list",
        "ledger.account_freeze": "compliance.request_account_freeze",
        "ledger.account_unfreeze": "compliance.request_account_freeze",
        "compliance.merchant_accounts_freeze": "compliance.request_account_freeze",
        "ledger.adjustment": "compliance.request_adjustment",
        "merchants.activate": "compliance.request_merchant_status",
        "merchants.api_key_revoke": "compliance.request_api_key_revoke",
        "merchants.bank_account_set": "merchants.request_bank_account_change",
        "merchants.suspend": "compliance.request_merchant_status",
        "payments.merchant_payouts_hold": "payments.request_merchant_payouts_hold",
        "payments.merchant_payouts_unhold": "payments.request_merchant_payouts_hold",
        "payments.payout_release": "payments.request_payout_release",
        "reconciliation.matching_rule_change": "reconciliation.request_matchingrule_change",
        "reconciliation.matching_rule_create": "reconciliation.request_matchingrule_change",
        "reconciliation.break_adjust": "reconciliation.work_break",
        "routing.connector_disable": "compliance.request_connector_change",
        "routing.connector_enable": "compliance.request_connector_change",
        "settlement.fee_plan_create": "settlement.request_fee_change",
        "settlement.fee_plan_line_set": "settlement.request_fee_change",
        "settlement.holiday_add": "settlement.request_holiday_change",
        "settlement.holiday_move": "settlement.request_holiday_change",
        "settlement.holiday_remove": "settlement.request_holiday_change",
        "settlement.merchant_fee_plan_set": "settlement.request_fee_change",
        "settlement.terms_set": "settlement.request_fee_change",
        "treasury.sweep": "treasury.request_sweep",
    }


def test_the_roles_hold_the_permissions_they_should(officer, treasury, supervisor, support):
    checker = "compliance.approve_approvalrequest"
    assert [user.has_perm(checker) for user in (officer, treasury, supervisor, support)] == [False, False, True, False]
    requesting = {user.username: sorted(p for p in user.get_all_permissions() if ".request_" in p)
                  for user in (officer, treasury, supervisor, support)}
    assert requesting == {
        "olivia": ["compliance.request_account_freeze", "compliance.request_api_key_revoke",
                   "compliance.request_jurisdiction_change", "compliance.request_merchant_status",
                   "compliance.request_monitoring_rule_change", "compliance.request_policy_change",
                   "compliance.request_risk_tier_change", "compliance.request_sanctions_allow_list",
                   "merchants.request_bank_account_change", "payments.request_merchant_payouts_hold"],
        "tariq": ["compliance.request_adjustment", "compliance.request_connector_change",
                  "payments.request_payout_release", "reconciliation.request_matchingrule_change",
                  "settlement.request_fee_change", "settlement.request_holiday_change", "treasury.request_sweep"],
        "sara": [], "sami": [],
    }
    assert SUPERVISOR == "Compliance supervisor"
