"""Payouts compliance holds, against PostgreSQL: a payout held for review never leaves (the
database refuses it in transit; the file's selection, the instant rail and payouts_send skip or
refuse it); an officer's release lets it leave, a decline fails it ``compliance_declined`` with
its money back; a merchant's payouts held through maker-checker stay pending, those made
meanwhile too, until the hold is lifted."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.compliance import registry
from apps.compliance.alerts.holds import hold_handlers
from apps.compliance.models import Alert, MonitoringRule
from apps.compliance.sanctions.imports import sanctions_list_import
from apps.core import clock
from apps.core.actors import Actor
from apps.payments import selectors, services
from apps.payments.exceptions import (
    InvalidPayout,
    MerchantPayoutsHoldConflict,
    NotHeldForReview,
    PayoutNotReleasable,
)
from apps.payments.models import MerchantPayoutHold, Payout
from apps.payments.representations import payout_representation
from tests.factories.payouts import NOSTRO, SETTLEMENT, available, funded_merchant, payout

pytestmark = pytest.mark.django_db

OFFICER = Actor.system("compliance.test-officer")


def _after_the_hold():
    return time_machine.travel(clock.now() + timedelta(hours=24, seconds=1))


def _held(payout_: Payout) -> Payout:
    """Held for review, as an alert's hold on its beneficiary leaves it."""
    Payout.objects.filter(pk=payout_.pk).update(held_for_review=True)
    payout_.refresh_from_db()
    return payout_


def _sanctions_listed(name: str) -> None:
    """A local sanctions list naming ``name``, and the sanctions rule that holds what matches it."""
    MonitoringRule.objects.get_or_create(kind=MonitoringRule.Kind.SANCTIONS_HIT, defaults={
        "name": "Sanctions list match", "severity": "critical", "action": MonitoringRule.Action.HOLD,
        "updated_at": clock.now(), "updated_by": "test"})
    content = ("reference,type,name,aliases,date_of_birth,nationality,passport,registration_number\n"
               f"BH-2026-001,entity,{name},,,,,CR 445566-1\n").encode()
    sanctions_list_import(source="local", content=content, file_name="local.csv", actor=OFFICER)


def _releasable(merchant) -> list[Payout]:
    return [p for p in selectors.payouts_releasable(currency="BHD", livemode=False, now=clock.now())
            if p.merchant_id == merchant.pk]


def test_a_payout_to_a_listed_beneficiary_is_held_for_review_when_made():
    _sanctions_listed("Desert Rose Exchange W.L.L.")
    listed, clean = funded_merchant(50_000, legal_name="Desert Rose Exchange W.L.L."), funded_merchant(50_000)

    held, paid = payout(listed, 12_500), payout(clean, 12_500)

    assert (held.held_for_review, paid.held_for_review) == (True, False)
    [alert] = Alert.objects.filter(hold_object_type="payments.payout")
    assert (alert.hold_object_id, alert.hold_state) == (str(held.pk), "held")
    assert AuditEvent.objects.get(object_id=str(held.pk), action="payout.created").after["held_for_review"] is True
    with _after_the_hold():
        assert _releasable(listed) == []
        assert _releasable(clean) == [paid]


def test_a_held_payout_never_leaves():
    merchant = funded_merchant(50_000)
    held = _held(payout(merchant, 12_500))

    with _after_the_hold():
        assert _releasable(merchant) == []
        with pytest.raises(PayoutNotReleasable, match="held by compliance"):
            services.payouts_send(payout_ids=[held.pk], nostro=NOSTRO, file_reference="F-1", actor=SETTLEMENT)
        with pytest.raises(PayoutNotReleasable, match="held by compliance"):
            services.payout_route(payout_id=held.pk, actor=SETTLEMENT)
    held.refresh_from_db()
    assert held.status == "pending"


def test_the_database_refuses_a_held_payout_in_transit():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    with _after_the_hold():
        [sent] = services.payouts_send(payout_ids=[made.pk], nostro=NOSTRO, file_reference="F-1", actor=SETTLEMENT)

    for flag in ("held_for_review", "merchant_payouts_held"):
        with pytest.raises(IntegrityError, match="payout_held_never_sent"), transaction.atomic():
            Payout.objects.filter(pk=sent.pk).update(**{flag: True})


def test_released_a_held_payout_leaves_with_the_next_file():
    merchant = funded_merchant(50_000)
    held = _held(payout(merchant, 12_500))

    hold_handlers("payments.payout").release(object_id=str(held.pk), actor=OFFICER, reason="False positive")

    held.refresh_from_db()
    assert not held.held_for_review
    with _after_the_hold():
        assert _releasable(merchant) == [held]
        [sent] = services.payouts_send(payout_ids=[held.pk], nostro=NOSTRO, file_reference="F-1", actor=SETTLEMENT)
    assert sent.status == "in_transit"
    released = AuditEvent.objects.get(object_id=str(held.pk), action="payout.review_released")
    assert (released.reason, released.actor_label) == ("False positive", OFFICER.label)
    with pytest.raises(NotHeldForReview):
        hold_handlers("payments.payout").release(object_id=str(held.pk), actor=OFFICER, reason="again")


def test_declined_a_held_payout_fails_and_gives_the_money_back_without_saying_why():
    merchant = funded_merchant(50_000)
    held = _held(payout(merchant, 12_500))
    assert available(merchant) == 37_500

    hold_handlers("payments.payout").decline(object_id=str(held.pk), actor=OFFICER, reason="UN list match, entry 42")

    held.refresh_from_db()
    assert (held.status, held.held_for_review, held.failure_code, held.failure_message) == (
        "failed", False, "compliance_declined", "The payout was declined.")
    assert available(merchant) == 50_000
    assert "UN list" not in str(payout_representation(held))
    declined = AuditEvent.objects.get(object_id=str(held.pk), action="payout.review_declined")
    assert declined.reason == "UN list match, entry 42"
    with pytest.raises(NotHeldForReview):
        hold_handlers("payments.payout").decline(object_id=str(held.pk), actor=OFFICER, reason="again")


# --- a merchant's payouts held -------------------------------------------------------------------


def test_a_merchants_payouts_held_stay_pending_those_made_meanwhile_too_until_lifted():
    merchant, other = funded_merchant(50_000), funded_merchant(50_000)
    pending = payout(merchant, 12_500)
    elsewhere = payout(other, 12_500)

    hold = services.merchant_payouts_hold(merchant_id=str(merchant.pk), actor=OFFICER, reason="Case: STR pending")

    made_meanwhile = payout(merchant, 5_000)
    pending.refresh_from_db()
    assert (pending.merchant_payouts_held, made_meanwhile.merchant_payouts_held) == (True, True)
    with _after_the_hold():
        assert _releasable(merchant) == []
        assert _releasable(other) == [elsewhere]
        with pytest.raises(PayoutNotReleasable):
            services.payouts_send(payout_ids=[pending.pk], nostro=NOSTRO, file_reference="F-1", actor=SETTLEMENT)
    with pytest.raises(MerchantPayoutsHoldConflict):
        services.merchant_payouts_hold(merchant_id=str(merchant.pk), actor=OFFICER, reason="twice")

    lifted = services.merchant_payouts_unhold(merchant_id=str(merchant.pk), actor=OFFICER, reason="Case closed")

    assert (lifted.pk, lifted.lifted_by, lifted.lift_reason) == (hold.pk, OFFICER.label, "Case closed")
    with _after_the_hold():
        assert _releasable(merchant) == [pending, made_meanwhile]
    assert payout(merchant, 1_000).merchant_payouts_held is False
    assert list(AuditEvent.objects.filter(object_id=str(merchant.pk), action__startswith="merchant.payouts_")
                .order_by("id").values_list("action", flat=True)) == ["merchant.payouts_held",
                                                                      "merchant.payouts_unheld"]
    with pytest.raises(MerchantPayoutsHoldConflict):
        services.merchant_payouts_unhold(merchant_id=str(merchant.pk), actor=OFFICER, reason="again")


def test_lifting_the_merchant_hold_leaves_a_payout_an_alert_holds_held():
    merchant = funded_merchant(50_000)
    held = _held(payout(merchant, 12_500))
    services.merchant_payouts_hold(merchant_id=str(merchant.pk), actor=OFFICER, reason="Case")
    services.merchant_payouts_unhold(merchant_id=str(merchant.pk), actor=OFFICER, reason="Lifted")

    held.refresh_from_db()
    assert (held.held_for_review, held.merchant_payouts_held) == (True, False)
    with _after_the_hold():
        assert _releasable(merchant) == []


def test_holding_a_merchants_payouts_says_why_and_is_a_maker_checker_action():
    merchant = funded_merchant(50_000)
    with pytest.raises(InvalidPayout):
        services.merchant_payouts_hold(merchant_id=str(merchant.pk), actor=OFFICER, reason=" ")
    assert not MerchantPayoutHold.objects.exists()

    hold, unhold = registry.get("payments.merchant_payouts_hold"), registry.get("payments.merchant_payouts_unhold")
    assert hold.permission == unhold.permission == "payments.request_merchant_payouts_hold"
    target = hold.describe({"merchant_id": str(merchant.pk)})
    assert (target.object_type, target.object_id) == ("merchants.merchant", str(merchant.pk))
