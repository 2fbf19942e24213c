"""Payouts against PostgreSQL: each transition with its exact ledger effect (merchant available,
payouts in transit, the nostro), its journal row, webhook and outbox event; repeats that change
nothing; refusals that write nothing; the 24 h hold after a bank account change; and the database's
own guards. Time only moves forward from the present (time-machine)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import clock, ids
from apps.events.outbox import subscriptions
from apps.events.outbox.models import OutboxMessage
from apps.ledger.data import AccountRole
from apps.ledger.models import Transfer
from apps.merchants import services as merchants_services
from apps.payments import selectors, services
from apps.payments.exceptions import (
    InvalidPayout,
    NoPayoutBankAccount,
    PayoutExceedsAvailable,
    PayoutNotFound,
    PayoutNotReleasable,
    PayoutReferenceReused,
    PayoutTransitionNotAllowed,
)
from apps.payments.models import Payout
from apps.payments.representations import payout_representation
from tests.factories.merchants import MerchantFactory
from tests.factories.payouts import (
    NOSTRO,
    SETTLEMENT,
    account,
    available,
    balances,
    funded_merchant,
    payout,
    webhooks,
    written,
)

pytestmark = pytest.mark.django_db

PAYOUT_EVENTS = ("payments.payout_created", "payments.payout_updated", "payments.payout_paid",
                 "payments.payout_failed", "payments.payout_approved")
IN_TRANSIT = account(AccountRole.PAYOUTS_IN_TRANSIT)
BANK = account(AccountRole.NOSTRO, name=NOSTRO)


@pytest.fixture(autouse=True)
def _listener(monkeypatch):
    """A subscriber to every payout event, for the test only, so the outbox holds what is published."""
    monkeypatch.setattr(subscriptions, "_subscriptions", {})
    for event_type in PAYOUT_EVENTS:
        subscriptions.subscribe(event_type, task="tests.record_event", queue="default")


def _outbox(payout_: Payout) -> list[tuple[str, str]]:
    public = ids.encode("po", payout_.pk)
    return [(m.kwargs["event"]["type"], m.kwargs["event"]["data"]["object"]["status"])
            for m in OutboxMessage.objects.exclude(queue="compliance").order_by("id")  # merchants' screening
            if m.kwargs["event"]["data"]["object"]["id"] == public]


def _journal(payout_: Payout) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="payments.payout", object_id=str(payout_.pk))
                .order_by("id").values_list("action", flat=True))


def _after_the_hold():
    return time_machine.travel(clock.now() + timedelta(hours=24, seconds=1))


def _sent(payout_: Payout, file_reference: str = "FILE-1") -> Payout:
    [sent] = services.payouts_send(payout_ids=[payout_.pk], nostro=NOSTRO, file_reference=file_reference,
                                   actor=SETTLEMENT)
    return sent


# --- made --------------------------------------------------------------------------------------


def test_a_payout_holds_its_amount_on_available_and_copies_the_bank_account_in():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500, reference="stl_LINE1")

    made.refresh_from_db()
    assert (made.status, made.amount, made.currency, made.livemode, made.iban, made.bic, made.settlement_reference,
            made.needs_approval, made.created_by) == (
        "pending", 12_500, "BHD", False, "BH67BMAG00001299123456", "BMAGBHBM", "stl_LINE1", False, "settlement.run")
    assert made.end_to_end_id == "PO" + ids.encode("po", made.pk)[3:] and len(made.end_to_end_id) == 28
    active = merchant.bank_accounts.get()
    assert (made.bank_account_id, made.hold_until) == (active.pk, active.payouts_held_until)
    assert balances(account(AccountRole.MERCHANT_AVAILABLE, merchant)) == (12_500, 0, 0, 50_000)
    assert available(merchant) == 37_500
    assert balances(IN_TRANSIT) == (0, 0, 12_500, 0)
    hold = Transfer.objects.get(pk=made.hold_transfer_id)
    assert (hold.kind, hold.client_id, hold.amount) == ("pending", f"fincore:{ids.encode('po', made.pk)}:hold",
                                                        12_500)
    assert _journal(made) == ["payout.created"]
    assert webhooks(made) == [("payout.created", "pending")]
    assert _outbox(made) == [("payments.payout_created", "pending")]


def test_the_same_settlement_line_again_returns_its_payout_and_writes_nothing():
    merchant = funded_merchant(50_000)
    first = payout(merchant, 12_500, reference="stl_LINE1")
    before = written()

    again = payout(merchant, 12_500, reference="stl_LINE1")

    assert again.pk == first.pk
    assert written() == before


@pytest.mark.parametrize(("amount", "reference", "refusal"), [
    (0, "stl_A", InvalidPayout),
    (-5, "stl_A", InvalidPayout),
    (60_000, "stl_A", PayoutExceedsAvailable),
    (12_000, "stl_LINE1", PayoutReferenceReused),  # the line was paid out with another amount
])
def test_a_refused_payout_writes_nothing(amount, reference, refusal):
    merchant = funded_merchant(50_000)
    payout(merchant, 12_500, reference="stl_LINE1")
    before = written()

    with pytest.raises(refusal):
        payout(merchant, amount, reference=reference)

    assert written() == before
    assert available(merchant) == 37_500


def test_a_merchant_without_a_bank_account_in_the_currency_is_told_apart_and_nothing_is_written():
    merchant = MerchantFactory()
    before = written()

    with pytest.raises(NoPayoutBankAccount) as refused:
        payout(merchant, 100)

    assert refused.value.code == "payout_no_bank_account"
    assert written() == before


def test_a_refusal_inside_the_callers_transaction_leaves_it_usable():
    rich, poor = funded_merchant(50_000), funded_merchant(1_000)
    with transaction.atomic():  # a settlement chunk
        kept = payout(rich, 10_000)
        with pytest.raises(PayoutExceedsAvailable):
            payout(poor, 5_000)
        with pytest.raises(NoPayoutBankAccount):
            payout(MerchantFactory(), 5_000)
        also = payout(poor, 1_000)

    assert set(Payout.objects.values_list("pk", flat=True)) == {kept.pk, also.pk}
    assert (available(rich), available(poor)) == (40_000, 0)


# --- sent, after the hold ------------------------------------------------------------------------


def test_a_payout_waits_24_hours_after_its_bank_account_was_set_then_leaves_in_transit():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    before = written()

    with pytest.raises(PayoutNotReleasable, match="held until"):
        _sent(made)
    assert written() == before
    assert selectors.payouts_releasable(currency="BHD", livemode=False, now=clock.now()) == []

    with _after_the_hold():
        assert selectors.payouts_releasable(currency="BHD", livemode=False, now=clock.now()) == [made]
        sent = _sent(made)

    assert (sent.status, sent.nostro, sent.file_reference) == ("in_transit", NOSTRO, "FILE-1")
    assert sent.in_transit_at >= sent.hold_until
    assert balances(account(AccountRole.MERCHANT_AVAILABLE, merchant)) == (0, 12_500, 0, 50_000)
    assert balances(IN_TRANSIT) == (0, 0, 0, 12_500)
    assert _journal(sent) == ["payout.created", "payout.sent"]
    assert webhooks(sent) == [("payout.created", "pending"), ("payout.updated", "in_transit")]
    assert _outbox(sent)[-1] == ("payments.payout_updated", "in_transit")


def test_sending_a_file_again_changes_nothing_and_another_file_may_not_take_its_payouts():
    merchant = funded_merchant(50_000)
    first, second = payout(merchant, 10_000, reference="stl_1"), payout(merchant, 5_000, reference="stl_2")
    with _after_the_hold():
        services.payouts_send(payout_ids=[second.pk, first.pk], nostro=NOSTRO, file_reference="FILE-1",
                              actor=SETTLEMENT)
        before = written()
        again = services.payouts_send(payout_ids=[first.pk, second.pk], nostro=NOSTRO, file_reference="FILE-1",
                                      actor=SETTLEMENT)
        assert [p.pk for p in again] == sorted([first.pk, second.pk])
        assert written() == before
        with pytest.raises(PayoutTransitionNotAllowed, match="sent in FILE-1"):
            services.payouts_send(payout_ids=[first.pk], nostro=NOSTRO, file_reference="FILE-2", actor=SETTLEMENT)
    assert written() == before
    assert balances(IN_TRANSIT) == (0, 0, 0, 15_000)


def test_a_file_moves_its_payouts_in_transit_in_one_statement():
    merchant = funded_merchant(50_000)
    made = [payout(merchant, amount, reference=f"stl_{amount}") for amount in (1_000, 2_000, 3_000)]
    with _after_the_hold(), CaptureQueriesContext(connection) as queries:
        services.payouts_send(payout_ids=[p.pk for p in made], nostro=NOSTRO, file_reference="FILE-1",
                              actor=SETTLEMENT)
    assert [q["sql"].split(" SET ")[0] for q in queries.captured_queries if q["sql"].startswith("UPDATE")
            and '"payments_payout"' in q["sql"]] == ['UPDATE "payments_payout"']
    assert set(Payout.objects.filter(pk__in=[p.pk for p in made]).values_list("status", "file_reference")) == {
        ("in_transit", "FILE-1")}


def test_a_file_is_sent_whole_or_not_at_all():
    merchant = funded_merchant(50_000)
    ready = payout(merchant, 10_000, reference="stl_1")
    with _after_the_hold():
        merchants_services.bank_account_set(merchant_id=merchant.pk, currency="BHD", iban="BH29BMAG1299123456BH00",
                                            bic="BMAGBHBM", beneficiary_name="New name", actor=SETTLEMENT, reason="t")
        held = payout(merchant, 5_000, reference="stl_2")  # to the new account: held 24 h more
        before = written()
        with pytest.raises(PayoutNotReleasable):
            services.payouts_send(payout_ids=[ready.pk, held.pk], nostro=NOSTRO, file_reference="F", actor=SETTLEMENT)
        assert written() == before
        ready.refresh_from_db()
        assert ready.status == "pending"
        assert (ready.iban, held.iban) == ("BH67BMAG00001299123456", "BH29BMAG1299123456BH00")
        with pytest.raises(PayoutNotFound):
            services.payouts_send(payout_ids=[ready.pk, "not-an-id"], nostro=NOSTRO, file_reference="F",
                                  actor=SETTLEMENT)


# --- what the bank says --------------------------------------------------------------------------


def test_paid_moves_the_money_from_in_transit_to_the_nostro_once():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    with _after_the_hold():
        _sent(made)
        paid = services.payout_paid(end_to_end_id=made.end_to_end_id, actor=SETTLEMENT)
        before = written()
        assert services.payout_paid(payout_id=made.pk, actor=SETTLEMENT).status == "paid"
        assert written() == before

    assert paid.status == "paid" and paid.paid_at is not None
    assert balances(IN_TRANSIT) == (0, 12_500, 0, 12_500)
    assert balances(BANK) == (0, 0, 0, 12_500)
    assert available(merchant) == 37_500
    assert webhooks(paid)[-1] == ("payout.paid", "paid")
    assert payout_representation(paid)["arrival"] == clock.isoformat(paid.paid_at)


def test_a_pending_payout_that_fails_gives_its_hold_back():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)

    failed = services.payout_failed(payout_id=made.pk, reason_code="AC04", reason="Account closed", actor=SETTLEMENT)
    before = written()
    services.payout_failed(payout_id=made.pk, reason_code="AC04", reason="Account closed", actor=SETTLEMENT)

    assert written() == before
    assert (failed.status, failed.failure_code, failed.failure_message) == ("failed", "AC04", "Account closed")
    assert balances(account(AccountRole.MERCHANT_AVAILABLE, merchant)) == (0, 0, 0, 50_000)
    assert balances(IN_TRANSIT) == (0, 0, 0, 0)
    assert Transfer.objects.get(pk=failed.back_transfer_id).kind == "void_pending"
    assert webhooks(failed)[-1] == ("payout.failed", "failed")
    assert _journal(failed) == ["payout.created", "payout.failed"]


def test_a_payout_refused_after_it_was_sent_comes_back_from_in_transit():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    with _after_the_hold():
        _sent(made)
        failed = services.payout_failed(end_to_end_id=made.end_to_end_id, reason_code="AC01",
                                        reason="Incorrect account number", actor=SETTLEMENT)

    assert balances(account(AccountRole.MERCHANT_AVAILABLE, merchant)) == (0, 12_500, 0, 62_500)
    assert available(merchant) == 50_000
    assert balances(IN_TRANSIT) == (0, 12_500, 0, 12_500)
    assert balances(BANK) == (0, 0, 0, 0)
    assert _outbox(failed)[-1] == ("payments.payout_failed", "failed")


def test_a_paid_payout_that_comes_back_is_returned_from_the_nostro():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    with _after_the_hold():
        _sent(made)
        services.payout_paid(payout_id=made.pk, actor=SETTLEMENT)
        returned = services.payout_returned(payout_id=made.pk, reason_code="AC04", reason="Closed account",
                                            actor=SETTLEMENT)
        before = written()
        services.payout_returned(payout_id=made.pk, reason_code="AC04", reason="Closed account", actor=SETTLEMENT)
        services.payout_paid(payout_id=made.pk, actor=SETTLEMENT)  # the first report read again
        assert written() == before

    assert (returned.status, returned.failure_code) == ("returned", "AC04")
    assert returned.returned_at is not None
    assert balances(BANK) == (0, 12_500, 0, 12_500)
    assert available(merchant) == 50_000
    assert webhooks(returned)[-1] == ("payout.failed", "returned")
    assert _journal(returned) == ["payout.created", "payout.sent", "payout.paid", "payout.returned"]


@pytest.mark.parametrize("step", ["paid_while_pending", "returned_while_in_transit", "failed_when_paid",
                                  "paid_when_failed", "sent_when_failed"])
def test_a_step_the_status_does_not_allow_is_refused_and_writes_nothing(step):
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    with _after_the_hold():
        if step in ("returned_while_in_transit", "failed_when_paid"):
            _sent(made)
        if step == "failed_when_paid":
            services.payout_paid(payout_id=made.pk, actor=SETTLEMENT)
        if step in ("paid_when_failed", "sent_when_failed"):
            services.payout_failed(payout_id=made.pk, reason_code="MS03", reason="", actor=SETTLEMENT)
        before, status = written(), Payout.objects.get(pk=made.pk).status
        attempts = {
            "paid_while_pending": lambda: services.payout_paid(payout_id=made.pk, actor=SETTLEMENT),
            "returned_while_in_transit": lambda: services.payout_returned(
                payout_id=made.pk, reason_code="AC04", reason="", actor=SETTLEMENT),
            "failed_when_paid": lambda: services.payout_failed(
                payout_id=made.pk, reason_code="AC04", reason="", actor=SETTLEMENT),
            "paid_when_failed": lambda: services.payout_paid(payout_id=made.pk, actor=SETTLEMENT),
            "sent_when_failed": lambda: _sent(made),
        }
        with pytest.raises(PayoutTransitionNotAllowed):
            attempts[step]()
    assert written() == before
    assert Payout.objects.get(pk=made.pk).status == status


def test_steps_name_their_payout_and_reason():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 100)
    with pytest.raises(InvalidPayout):
        services.payout_paid(payout_id=made.pk, end_to_end_id=made.end_to_end_id, actor=SETTLEMENT)
    with pytest.raises(PayoutNotFound):
        services.payout_paid(end_to_end_id="PO0000", actor=SETTLEMENT)
    with pytest.raises(PayoutNotFound):
        services.payout_paid(payout_id="po_x", actor=SETTLEMENT)
    with pytest.raises(InvalidPayout):
        services.payout_failed(payout_id=made.pk, reason_code=" ", reason="", actor=SETTLEMENT)
    with pytest.raises(InvalidPayout):
        services.payouts_send(payout_ids=[made.pk], nostro="", file_reference="F", actor=SETTLEMENT)


# --- the database's own guards -------------------------------------------------------------------


def test_the_database_refuses_a_payout_leaving_early_unapproved_backwards_or_deleted():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    now = clock.now()
    rows = Payout.objects.filter(pk=made.pk)
    with pytest.raises(IntegrityError, match="payout_sent_after_hold"), transaction.atomic():
        rows.update(status="in_transit", in_transit_at=now, nostro=NOSTRO, sent_transfer_id=made.hold_transfer_id)
    with pytest.raises(IntegrityError, match="payout_sent_approved"), transaction.atomic():
        rows.update(status="in_transit", in_transit_at=made.hold_until, nostro=NOSTRO, needs_approval=True,
                    sent_transfer_id=made.hold_transfer_id)
    with pytest.raises(IntegrityError, match="never change"), transaction.atomic():
        rows.update(amount=1)
    with pytest.raises(IntegrityError, match="kept"), transaction.atomic():
        rows.delete()
    services.payout_failed(payout_id=made.pk, reason_code="AC04", reason="", actor=SETTLEMENT)
    with pytest.raises(IntegrityError, match="failed cannot become pending"), transaction.atomic():
        rows.update(status="pending", failed_at=None, back_transfer_id=None, failure_code="")


def test_merchants_made_together_have_payouts_of_their_own_lines():
    first, second = funded_merchant(50_000), funded_merchant(50_000)

    made = [payout(first, 12_500), payout(second, 12_500)]

    assert [p.merchant_id for p in made] == [first.pk, second.pk]
    assert made[0].settlement_reference != made[1].settlement_reference
