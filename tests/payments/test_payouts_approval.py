"""Large payouts through maker-checker: at or above its currency's threshold a payout waits for a
checker; a treasury operator requests its release, a compliance supervisor approves with a fresh
code, and only then may it leave."""

from datetime import timedelta

import pytest
import time_machine

from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.compliance.services import NotAChecker, NotAMaker
from apps.core import clock, ids
from apps.payments import selectors, services
from apps.payments.exceptions import PayoutApprovalNotNeeded, PayoutNotReleasable, PayoutTransitionNotAllowed
from apps.payments.models import Payout
from tests.factories.payouts import NOSTRO, SETTLEMENT, funded_merchant, payout, written
from tests.factories.staff import OFFICER, SUPERVISOR, SUPPORT, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db

THRESHOLD = 10_000_000  # 10,000.000 BHD, the default


def _releasable() -> list[Payout]:
    return selectors.payouts_releasable(currency="BHD", livemode=False, now=clock.now())


def _request(made: Payout, maker) -> ApprovalRequest:
    return compliance_services.approval_request_create(
        action=services.PAYOUT_RELEASE, arguments={"payout_id": str(made.pk)}, user=maker,
        reason="called the merchant back on its registered number")


def test_the_threshold_decides_which_payouts_need_a_checker(settings):
    merchant = funded_merchant(30_000_000)
    under, at = payout(merchant, THRESHOLD - 1, reference="stl_1"), payout(merchant, THRESHOLD, reference="stl_2")
    assert (under.needs_approval, at.needs_approval) == (False, True)

    settings.FINCORE_PAYOUT_APPROVAL_THRESHOLDS = {}  # no threshold for BHD: every payout needs a checker
    assert payout(merchant, 1, reference="stl_3").needs_approval

    with time_machine.travel(clock.now() + timedelta(hours=24, seconds=1)):
        assert [p.pk for p in _releasable()] == [under.pk]
        with pytest.raises(PayoutNotReleasable, match="needs a checker's approval"):
            services.payouts_send(payout_ids=[at.pk], nostro=NOSTRO, file_reference="F", actor=SETTLEMENT)


def test_treasury_requests_a_supervisor_approves_and_the_payout_may_leave():
    merchant = funded_merchant(20_000_000)
    large = payout(merchant, 12_000_000)
    maker, checker = staff_user(TREASURY, username="tariq"), staff_user(SUPERVISOR, username="sara")

    request = _request(large, maker)
    assert (request.state, request.amount, request.currency, request.target_type, request.target_id) == (
        "pending", 12_000_000, "BHD", "payments.payout", str(large.pk))
    assert request.target_label == (f"12000.000 BHD to {merchant.legal_name} (··3456), "
                                    f"{ids.encode('po', large.pk)}")
    with pytest.raises(NotAChecker):  # a maker, never a checker
        compliance_services.approval_request_approve(request_id=request.pk, user=maker, otp_token=totp_code(maker))
    large.refresh_from_db()
    assert large.approved_at is None

    with time_machine.travel(clock.now() + timedelta(hours=24, seconds=1)):
        assert _releasable() == []
        compliance_services.approval_request_approve(request_id=request.pk, user=checker,
                                                     otp_token=totp_code(checker))
        large.refresh_from_db()
        assert (large.approved_by, large.status) == ("tariq, approved by sara", "pending")
        assert [p.pk for p in _releasable()] == [large.pk]
        [sent] = services.payouts_send(payout_ids=[large.pk], nostro=NOSTRO, file_reference="F", actor=SETTLEMENT)

    request.refresh_from_db()
    assert request.state == ApprovalRequest.State.EXECUTED
    assert sent.status == "in_transit"


def test_a_release_is_asked_only_for_a_pending_payout_that_needs_one_by_treasury():
    merchant = funded_merchant(30_000_000)
    small, large = payout(merchant, 100, reference="stl_1"), payout(merchant, 11_000_000, reference="stl_2")
    treasury = staff_user(TREASURY)
    before = written(), ApprovalRequest.objects.count()

    with pytest.raises(PayoutApprovalNotNeeded):
        _request(small, treasury)
    for role in (OFFICER, SUPPORT, SUPERVISOR):
        with pytest.raises(NotAMaker):
            _request(large, staff_user(role))
    services.payout_failed(payout_id=large.pk, reason_code="AC04", reason="", actor=SETTLEMENT)
    with pytest.raises(PayoutTransitionNotAllowed):
        _request(large, treasury)

    assert ApprovalRequest.objects.count() == before[1]


def test_releasing_an_approved_payout_again_changes_nothing():
    merchant = funded_merchant(20_000_000)
    large = payout(merchant, 12_000_000)
    services.payout_release(payout_id=large.pk, actor=SETTLEMENT, reason="first")
    before = written()

    again = services.payout_release(payout_id=large.pk, actor=SETTLEMENT, reason="second")

    assert again.approved_by == "settlement.run"
    assert written() == before
