"""Freezing an account and manual adjustments, as the ledger's services do them (compliance's
maker-checker calls these once a second person approved)."""

import uuid

import pytest

from apps.audit.models import AuditEvent
from apps.ledger import data, services
from apps.ledger.models import Account, Transfer
from tests.factories import ledger as factories

pytestmark = pytest.mark.django_db

ACTOR = factories.FACTORY_ACTOR


def _writes() -> tuple[int, int, int]:
    return Transfer.objects.count(), AuditEvent.objects.count(), Account.objects.filter(frozen=True).count()


def test_a_frozen_account_refuses_transfers_both_ways_until_unfrozen():
    wallet = factories.wallet()
    source = factories.fund(wallet, 1000)

    services.account_freeze(account_id=wallet.pk, actor=ACTOR, reason="court order")

    assert factories.post_one(source, wallet, 1).result == data.Result.ACCOUNT_FROZEN
    assert factories.post_one(wallet, source, 1).result == data.Result.ACCOUNT_FROZEN
    with pytest.raises(services.AccountFreezeUnchanged):
        services.account_freeze(account_id=wallet.pk, actor=ACTOR, reason="again")
    services.account_unfreeze(account_id=wallet.pk, actor=ACTOR, reason="lifted")
    assert factories.post_one(wallet, source, 1).result == data.Result.OK
    assert [(e.action, e.before, e.after, e.reason) for e in AuditEvent.objects.filter(
        object_id=str(wallet.pk), action__in=["ledger.account_frozen", "ledger.account_unfrozen"]).order_by("id")] == [
        ("ledger.account_frozen", {"frozen": False}, {"frozen": True}, "court order"),
        ("ledger.account_unfrozen", {"frozen": True}, {"frozen": False}, "lifted"),
    ]


def test_freezing_no_account_is_refused():
    with pytest.raises(services.InvalidAccount):
        services.account_freeze(account_id=uuid.uuid4(), actor=ACTOR, reason="x")


def test_an_adjustment_posts_a_transfer_with_its_reason_code_and_note():
    merchant_id = uuid.uuid4()
    available = services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])[1]
    suspense = factories.account(code=Account.Code.SUSPENSE)

    transfer = services.adjustment_post(
        debit_account_id=str(suspense.pk), credit_account_id=str(available.pk), amount=12500, currency="BHD",
        reason_code="suspense_clearance", note="statement line 7 was the merchant's", actor=ACTOR, reason="ok")

    assert (transfer.amount, transfer.code, transfer.reference, transfer.merchant_id, transfer.kind) == (
        12500, "adjustment", "suspense_clearance", merchant_id, "immediate")
    assert factories.balances(available) == (0, 0, 0, 12500)
    [event] = AuditEvent.objects.filter(action="ledger.adjustment_posted")
    assert event.after == {"debit_account_id": str(suspense.pk), "credit_account_id": str(available.pk),
                           "amount": 12500, "currency": "BHD", "reason_code": "suspense_clearance",
                           "note": "statement line 7 was the merchant's"}


@pytest.mark.parametrize(("change", "message"), [
    ({"reason_code": "because"}, "'because' is not an adjustment reason code."),
    ({"amount": 0}, "The amount must be a positive number of minor units."),
    ({"amount": 1.5}, "The amount must be a positive number of minor units."),
    ({"note": " "}, "Say what the adjustment corrects."),
    ({"currency": "USD"}, "is in BHD, not USD."),
    ({"debit": "wallet"}, "adjustments move money only between suspense, fee revenue and merchants' accounts."),
    ({"debit": "nostro"}, "adjustments move money only between suspense, fee revenue and merchants' accounts."),
    ({"debit": "clearing"}, "adjustments move money only between suspense, fee revenue and merchants' accounts."),
    ({"debit": "test_suspense"}, "Live and test money never mix."),
    ({"debit": "fee_revenue"}, "The debit and credit accounts are the same."),
])
def test_adjustments_are_refused_outside_their_rules_and_nothing_is_written(change, message):
    fee_revenue = factories.account(code=Account.Code.FEE_REVENUE)
    debits = {
        "suspense": lambda: factories.account(code=Account.Code.SUSPENSE),
        "wallet": factories.wallet,
        "nostro": lambda: factories.account(code=Account.Code.NOSTRO),
        "clearing": lambda: factories.account(code=Account.Code.CONNECTOR_CLEARING),
        "test_suspense": lambda: factories.account(code=Account.Code.SUSPENSE, livemode=False),
        "fee_revenue": lambda: fee_revenue,
    }
    debit = debits[change.pop("debit", "suspense")]()
    fields = {"amount": 100, "currency": "BHD", "reason_code": "fee_correction", "note": "n", **change}
    before = _writes()

    with pytest.raises(services.AdjustmentNotAllowed) as refused:
        services.adjustment_post(debit_account_id=str(debit.pk), credit_account_id=str(fee_revenue.pk), actor=ACTOR,
                                 reason="x", **fields)

    assert message in refused.value.detail
    assert _writes() == before


def test_an_adjustment_never_overdraws_a_merchant_account():
    available = services.merchant_accounts_open(merchant_id=uuid.uuid4(), currencies=["BHD"])[1]
    fee_revenue = factories.account(code=Account.Code.FEE_REVENUE)
    before = _writes()

    with pytest.raises(services.TransferRefused) as refused:
        services.adjustment_post(debit_account_id=available.pk, credit_account_id=fee_revenue.pk, amount=1,
                                 currency="BHD", reason_code="fee_correction", note="n", actor=ACTOR, reason="x")

    assert refused.value.code == "exceeds_credits"
    assert _writes() == before
