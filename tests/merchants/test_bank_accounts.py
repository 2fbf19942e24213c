"""Merchants' bank accounts: set and changed only through maker-checker (a compliance officer asks,
a supervisor approves with a fresh code), checked with schwifty when asked, one active per currency,
payouts held 24 h after each change, and refusals that write nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.compliance.services import NotAMaker
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.events.outbox import subscriptions
from apps.events.outbox.models import OutboxMessage
from apps.merchants import selectors, services
from apps.merchants.models import BankAccount
from apps.merchants.services import BankAccountUnchanged, InvalidBankAccount
from tests.factories.merchants import MerchantFactory
from tests.factories.staff import OFFICER, SUPERVISOR, SUPPORT, TREASURY, staff_user, totp_code
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()
STAFF = Actor.system("tests.bank_accounts")
BH_IBAN, BH_BIC = "BH67BMAG00001299123456", "BMAGBHBM"
DE_IBAN = "DE89370400440532013000"  # Commerzbank: schwifty's registry tells its BIC


@pytest.fixture(autouse=True)
def _listener(monkeypatch):
    """One subscriber to bank account changes, for the test only, so the outbox holds what is published."""
    monkeypatch.setattr(subscriptions, "_subscriptions", {})
    subscriptions.subscribe(services.BANK_ACCOUNT_SET, task="tests.record_event", queue="default")


def _set(merchant, **overrides):
    fields = {"merchant_id": merchant.pk, "currency": "BHD", "iban": BH_IBAN, "bic": BH_BIC,
              "beneficiary_name": "Gulf Coffee W.L.L.", "actor": STAFF, "reason": "signed mandate"}
    return services.bank_account_set(**{**fields, **overrides})


def _written() -> tuple[int, int, int]:
    return BankAccount.objects.count(), AuditEvent.objects.filter(action="bank_account.set").count(), \
        OutboxMessage.objects.count()


def test_the_first_account_is_held_for_24_hours_journaled_and_published():
    merchant = MerchantFactory(legal_name="Gulf Coffee W.L.L.")
    with time_machine.travel(T0, tick=False):
        account = _set(merchant, iban="bh67 bmag 0000 1299 1234 56", bic="bmagbhbm")

    assert (account.iban, account.bic, account.status, account.created_at, account.payouts_held_until,
            account.created_by) == (BH_IBAN, BH_BIC, "active", T0, T0 + timedelta(hours=24), "tests.bank_accounts")
    event = AuditEvent.objects.get(action="bank_account.set")
    assert (event.object_type, event.object_id, event.merchant_id, event.before, event.reason) == (
        "merchants.bankaccount", str(account.pk), str(merchant.pk), None, "signed mandate")
    assert event.after["iban"] == BH_IBAN
    [message] = OutboxMessage.objects.exclude(queue="compliance")  # the merchant's screening is compliance's
    published = message.kwargs["event"]
    assert (published["type"], published["data"]) == ("merchants.bank_account_set", {
        "bank_account": ids.encode("ba", account.pk), "merchant": ids.encode("mer", merchant.pk), "currency": "BHD",
        "iban_last4": "3456", "bic": BH_BIC, "payouts_held_until": (T0 + timedelta(hours=24)).isoformat(),
        "replaced": None})
    assert selectors.payout_bank_account(merchant_id=merchant.pk, currency="BHD") == selectors.PayoutBankAccount(
        id=account.pk, merchant_id=merchant.pk, currency="BHD", iban=BH_IBAN, bic=BH_BIC,
        beneficiary_name="Gulf Coffee W.L.L.", payouts_held_until=T0 + timedelta(hours=24))


def test_a_change_replaces_the_active_account_keeps_it_and_restarts_the_hold():
    merchant = MerchantFactory(currencies=["BHD", "EUR"])
    with time_machine.travel(T0, tick=False):
        first = _set(merchant)
        euros = _set(merchant, currency="EUR", iban=DE_IBAN, bic="")
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        second = _set(merchant, iban="BH29BMAG1299123456BH00")

    first.refresh_from_db()
    assert (first.status, first.replaced_at) == ("replaced", T0 + timedelta(days=3))
    assert second.payouts_held_until == T0 + timedelta(days=4)
    assert euros.bic == "COBADEFFXXX"  # derived from the IBAN
    assert selectors.payout_bank_account(merchant_id=merchant.pk, currency="BHD").id == second.pk
    assert selectors.payout_bank_account(merchant_id=merchant.pk, currency="EUR").id == euros.pk
    event = AuditEvent.objects.filter(action="bank_account.set").order_by("id").last()
    assert (event.before["id"], event.after["id"]) == (ids.encode("ba", first.pk), ids.encode("ba", second.pk))
    assert OutboxMessage.objects.order_by("id").last().kwargs["event"]["data"]["replaced"] == ids.encode("ba", first.pk)


@pytest.mark.parametrize(("overrides", "refusal", "detail"), [
    ({"iban": "BH67BMAG00001299123457"}, InvalidBankAccount, "not a valid IBAN: invalid checksum digits"),
    ({"iban": "GB82WEST1234569876543"}, InvalidBankAccount, "not a valid IBAN: invalid iban length"),
    ({"iban": ""}, InvalidBankAccount, "The IBAN is missing."),
    ({"bic": "BMAGBH"}, InvalidBankAccount, "not a valid BIC"),
    ({"bic": ""}, InvalidBankAccount, "cannot be told from the IBAN"),
    ({"beneficiary_name": "  "}, InvalidBankAccount, "The beneficiary's name is missing."),
    ({"currency": "USD"}, InvalidBankAccount, "does not take 'USD'"),
    ({}, BankAccountUnchanged, "already go to BHD ··3456"),
])
def test_a_refused_change_writes_nothing(overrides, refusal, detail):
    merchant = MerchantFactory()
    _set(merchant)
    before = _written()

    with pytest.raises(refusal) as refused:
        _set(merchant, **overrides)

    assert detail in refused.value.detail
    assert _written() == before


def test_the_database_keeps_one_active_account_per_currency_and_its_details_unchanged():
    merchant = MerchantFactory()
    account = _set(merchant)
    now = clock.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        BankAccount.objects.create(merchant=merchant, currency="BHD", iban=BH_IBAN, bic=BH_BIC, beneficiary_name="X",
                                   created_at=now, created_by="x", payouts_held_until=now)
    with pytest.raises(IntegrityError, match="never change"), transaction.atomic():
        BankAccount.objects.filter(pk=account.pk).update(iban="BH29BMAG1299123456BH00")
    with pytest.raises(IntegrityError, match="are kept"), transaction.atomic():
        BankAccount.objects.filter(pk=account.pk).delete()
    with pytest.raises(IntegrityError, match="bank_account_hold_after_creation"), transaction.atomic():
        BankAccount.objects.create(merchant=merchant, currency="BHD", iban=BH_IBAN, bic=BH_BIC, beneficiary_name="X",
                                   status="replaced", replaced_at=now, created_at=now, created_by="x",
                                   payouts_held_until=now - timedelta(days=1))


# --- through maker-checker ---------------------------------------------------------------------


def _arguments(merchant, **overrides):
    return {"merchant_id": str(merchant.pk), "currency": "BHD", "iban": BH_IBAN, "bic": BH_BIC,
            "beneficiary_name": "Gulf Coffee W.L.L.", **overrides}


def test_an_officer_asks_a_supervisor_approves_and_the_hold_runs_from_the_approval():
    merchant = MerchantFactory(legal_name="Gulf Coffee W.L.L.")
    maker, checker = staff_user(OFFICER, username="olivia"), staff_user(SUPERVISOR, username="sara")
    with time_machine.travel(T0, tick=False):
        request = compliance_services.approval_request_create(
            action=services.BANK_ACCOUNT_SET, arguments=_arguments(merchant), user=maker, reason="signed mandate")
    assert BankAccount.objects.count() == 0
    assert request.target_label == (f"Gulf Coffee W.L.L. ({ids.encode('mer', merchant.pk)}): BHD payouts to "
                                    "BH67 BMAG 0000 1299 1234 56 (BMAGBHBM), Gulf Coffee W.L.L.")

    with time_machine.travel(T0 + timedelta(hours=5)):
        compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    account = BankAccount.objects.get()
    assert request.state == ApprovalRequest.State.EXECUTED
    assert account.created_by == "olivia, approved by sara"
    assert account.payouts_held_until - account.created_at == timedelta(hours=24)
    assert account.created_at >= T0 + timedelta(hours=5)


def test_an_invalid_account_is_refused_when_asked_for_not_when_approved():
    merchant = MerchantFactory()
    maker = staff_user(OFFICER)

    with pytest.raises(InvalidBankAccount, match="invalid checksum digits"):
        compliance_services.approval_request_create(
            action=services.BANK_ACCOUNT_SET, arguments=_arguments(merchant, iban="BH67BMAG00001299123457"),
            user=maker, reason="typo")
    assert ApprovalRequest.objects.count() == 0


def test_only_compliance_officers_may_ask():
    merchant = MerchantFactory()
    for role in (TREASURY, SUPPORT, SUPERVISOR):
        with pytest.raises(NotAMaker):
            compliance_services.approval_request_create(
                action=services.BANK_ACCOUNT_SET, arguments=_arguments(merchant), user=staff_user(role), reason="x")
    assert ApprovalRequest.objects.count() == 0
