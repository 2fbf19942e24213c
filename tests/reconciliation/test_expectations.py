"""Expectations: one per payout sent by file (none for an instant rail), one per connector's net
settlement of a closed business date (expected over the Bahraini weekend), declared by staff, and
marked missing past their SLA. Built inside a travel to April 2031 (Monday 7 to Thursday 10 are
business dates; Friday 11 and Saturday 12 the weekend)."""

from datetime import date, timedelta

import pytest
import time_machine

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.events.outbox.models import OutboxMessage
from apps.payments.models import Payment, Payout
from apps.reconciliation.models import Expectation
from apps.reconciliation.services import expectations as services
from apps.reconciliation.tasks import expectations as tasks_expectations
from apps.settlement import services as settlement_services
from apps.settlement.models import SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.payouts import payout_nostro
from tests.factories.settlement import captured, refunded
from tests.factories.staff import TREASURY, staff_user
from tests.settlement.test_payout_files import ACTOR, MONDAY, at, merchant_with_bank_account
from tests.settlement.test_payout_files_instant import live_rail  # noqa: F401 - a fixture
from tests.treasury.test_sweeps import BBK_IBAN, arrive, request
from tests.treasury.test_sweeps import nostro as sweep_nostro

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts_for_sweeps():
    """Two BHD nostros, 50,000.000 BHD at NBB (as treasury's sweep tests set them up)."""
    sweep_nostro("nbb-bhd-01")
    sweep_nostro("bbk-bhd-01", iban=BBK_IBAN, bic="BBKUBHBM", bank="Bank of Bahrain and Kuwait")
    arrive("nbb-bhd-01", 50_000_000)
TUESDAY, THURSDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)
NEXT_SUNDAY, NEXT_MONDAY = MONDAY + timedelta(days=6), MONDAY + timedelta(days=7)


@pytest.fixture
def travel():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def nostro():
    return payout_nostro()


def replay_payout_events() -> list[bool]:
    return [tasks_expectations.expect_payout(**message.kwargs)
            for message in OutboxMessage.objects.filter(task_name="reconciliation.expect_payout").order_by("pk")]


def test_a_payout_sent_by_file_is_expected_once_and_an_instant_one_not(travel, nostro, live_rail,  # noqa: F811
                                                                        settings):
    settings.FINCORE_INSTANT_PAYOUT_LIMITS = {"BHD": 50_000}
    coffee, tailor = merchant_with_bank_account("Gulf Coffee W.L.L."), merchant_with_bank_account("Manama Tailors")
    SettlementTerms.objects.filter(merchant__isnull=True).update(payout_minimum=0)
    captured(coffee, 100_000, at=at(MONDAY, 10), method="wire")
    captured(tailor, 20_000, at=at(MONDAY, 11), method="wire")
    travel.move_to(at(MONDAY, 18))
    settlement_services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    travel.move_to(at(TUESDAY, 10))
    payout_file = settlement_services.payout_file_create(currency="BHD", actor=ACTOR)
    by_file, by_rail = (Payout.objects.get(merchant_id=merchant.pk) for merchant in (coffee, tailor))
    assert (by_file.connector, by_rail.connector) == ("", "fawri_instant")

    # payments.payout_updated reached reconciliation for both; only the file's payout is expected.
    assert sorted(replay_payout_events()) == [False, True]
    expectation = Expectation.objects.get()
    assert (expectation.source, expectation.source_id, expectation.nostro_id, expectation.currency,
            expectation.amount, expectation.expected_date, expectation.date_tolerance_days,
            expectation.end_to_end_id, expectation.counterparty_name, expectation.state) == (
        "payout", str(by_file.pk), "nbb-bhd-01", "BHD", -99_000, TUESDAY, 1, by_file.end_to_end_id,
        "Gulf Coffee W.L.L.", "unreconciled")
    assert expectation.reference == f"Payout {ids.encode('po', by_file.pk)} settlement {by_file.settlement_reference}"
    assert expectation.reference.encode() in bytes(payout_file.document)  # as the file's remittance says
    assert expectation.missing_after == at(THURSDAY, 17)  # two business dates past Tuesday, at their cut-off

    # The event again, and the sweep behind it, make nothing more.
    assert sorted(replay_payout_events()) == [False, True]
    assert services.payouts_expect() == 0
    assert Expectation.objects.count() == 1


def test_the_sweep_expects_a_payout_the_event_missed(travel, nostro):
    coffee = merchant_with_bank_account("Gulf Coffee W.L.L.")
    captured(coffee, 100_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 18))
    settlement_services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    travel.move_to(at(TUESDAY, 10))
    settlement_services.payout_file_create(currency="BHD", actor=ACTOR)
    assert services.payouts_expect() == 1
    assert services.payouts_expect() == 0
    assert Expectation.objects.get().amount == -99_000


def test_each_connectors_net_of_a_business_date_is_expected_after_the_weekend(travel, nostro):
    shop = MerchantFactory()
    travel.move_to(at(THURSDAY, 9))
    # Checkout: 120.000 captured, 20.500 refunded; Tap: 7.250; Benefit: 5.000 captured and refunded.
    checkout = [captured(shop, 100_000, at=at(THURSDAY, 10)), captured(shop, 20_000, at=at(THURSDAY, 11))]
    refund = refunded(checkout[0], 20_500, at=at(THURSDAY, 12))
    tap = captured(shop, 7_250, at=at(THURSDAY, 13))
    benefit = captured(shop, 5_000, at=at(THURSDAY, 14))
    benefit_refund = refunded(benefit, 5_000, at=at(THURSDAY, 15))
    Payment.objects.filter(pk__in=[p.pk for p in checkout]).update(connector="checkout")
    refund.__class__.objects.filter(pk=refund.pk).update(connector="checkout")
    Payment.objects.filter(pk=tap.pk).update(connector="tap")
    Payment.objects.filter(pk=benefit.pk).update(connector="benefit")
    benefit_refund.__class__.objects.filter(pk=benefit_refund.pk).update(connector="benefit")
    captured(shop, 9_000, at=at(THURSDAY, 16), livemode=False)  # test money: never at a bank
    wallet = captured(shop, 4_000, at=at(THURSDAY, 16), method="wallet")  # never leaves fincore's ledger
    Payment.objects.filter(pk=wallet.pk).update(connector="wallet_live")
    captured(shop, 3_000, at=at(THURSDAY, 17, 30))  # after the cut-off: Sunday's business date

    travel.move_to(at(THURSDAY, 16, 59))
    services.connector_settlements_expect()
    assert not Expectation.objects.filter(expected_date=NEXT_SUNDAY).exists()  # Thursday is not closed yet
    travel.move_to(at(THURSDAY, 18))
    services.connector_settlements_expect()
    services.connector_settlements_expect()  # hourly: the second run makes nothing

    expected = {(e.source_id, e.amount, e.expected_date, e.reference, e.group_key, e.nostro_id, e.metadata["connector"])
                for e in Expectation.objects.filter(source="connector_settlement")}
    assert expected == {
        ("checkout:BHD:2031-04-10:True", 99_500, NEXT_SUNDAY, "checkout-20310410", "checkout-20310410", "nbb-bhd-01",
         "checkout"),
        ("tap:BHD:2031-04-10:True", 7_250, NEXT_SUNDAY, "tap-20310410", "tap-20310410", "nbb-bhd-01", "tap"),
    }
    assert {e.missing_after for e in Expectation.objects.all()} == {at(MONDAY + timedelta(days=8), 17)}


def test_staff_declare_an_expectation_with_a_reason(travel, nostro):
    expectation = services.expectation_declare(
        nostro_code="nbb-bhd-01", amount=1_250, currency="BHD", expected_date=TUESDAY, date_tolerance_days=1,
        amount_tolerance=10, reference="INV-77", counterparty_name="Gulf Insurance", actor=ACTOR,
        reason="The insurer's refund, announced by email")
    assert (expectation.source, expectation.amount, expectation.state, expectation.missing_after) == (
        "staff", 1_250, "unreconciled", at(THURSDAY, 17))
    audit = AuditEvent.objects.get(action="reconciliation.expectation_declared")
    assert (audit.object_id, audit.reason, audit.after["amount"]) == (
        str(expectation.pk), "The insurer's refund, announced by email", 1_250)


@pytest.mark.parametrize(("fields", "refusal"), [
    ({"amount": 0}, services.ExpectationRefused),
    ({"currency": "USD"}, services.ExpectationRefused),
    ({"reason": "  "}, services.ExpectationRefused),
    ({"date_tolerance_days": 11}, services.ExpectationRefused),
    ({"amount_tolerance": 1_250}, services.ExpectationRefused),
    ({"nostro_code": "nowhere"}, services.ExpectationNostroUnknown),
])
def test_a_bad_declaration_stores_nothing(travel, nostro, fields, refusal):
    journal = AuditEvent.objects.count()
    with pytest.raises(refusal):
        services.expectation_declare(**{"nostro_code": "nbb-bhd-01", "amount": 1_250, "currency": "BHD",
                                        "expected_date": TUESDAY, "actor": ACTOR, "reason": "why", **fields})
    assert Expectation.objects.count() == 0 and AuditEvent.objects.count() == journal


def test_only_overdue_open_expectations_become_missing(travel, nostro):
    def expectation(key: str, state: str, due: int, reconciled: int = 0) -> Expectation:
        now = at(MONDAY, 9)
        return Expectation.objects.create(
            nostro_id="nbb-bhd-01", currency="BHD", amount=5_000, expected_date=MONDAY, source="staff", source_id=key,
            state=state, reconciled_amount=reconciled, missing_after=now + timedelta(hours=due), created_at=now,
            created_by="tests")

    overdue = expectation("overdue", "unreconciled", 1)
    part = expectation("part", "partially_reconciled", 1, reconciled=2_000)
    expectation("not-yet", "unreconciled", 3)
    expectation("settled", "reconciled", 1, reconciled=5_000)
    travel.move_to(at(MONDAY, 11))
    assert services.expectations_mark_missing() == 2
    assert set(Expectation.objects.filter(state="missing").values_list("pk", flat=True)) == {overdue.pk, part.pk}
    journal = AuditEvent.objects.get(action="reconciliation.expectations_missing")
    assert journal.after["count"] == 2
    assert services.expectations_mark_missing() == 0


def test_a_missing_expectation_may_still_be_reconciled():
    assert "reconciled" in services.TRANSITIONS["missing"]
    assert services.TRANSITIONS["reconciled"] == frozenset()


def test_dates_are_the_calendars():
    assert NEXT_SUNDAY.weekday() == 6 and date(2031, 4, 10).weekday() == 3


# --- sweeps ------------------------------------------------------------------------------------


def test_a_sent_sweep_is_expected_on_both_nostros_once_by_event_or_by_the_beat_sweep(accounts_for_sweeps):
    sent = request(staff_user(TREASURY), 1_250_500)  # under the threshold: sent at once
    [message] = OutboxMessage.objects.filter(task_name="reconciliation.expect_sweep")

    assert tasks_expectations.expect_sweep(**message.kwargs) == 2
    assert tasks_expectations.expect_sweep(**message.kwargs) == 0  # a redelivery makes nothing twice
    assert services.sweeps_expect() == 0  # and neither does the beat sweep behind the event

    by_nostro = {e.nostro_id: e for e in Expectation.objects.filter(source="sweep")}
    assert {code: (e.amount, e.expected_date, e.end_to_end_id) for code, e in by_nostro.items()} == {
        "nbb-bhd-01": (-1_250_500, sent.execution_date, sent.end_to_end_id),
        "bbk-bhd-01": (1_250_500, sent.execution_date, sent.end_to_end_id),
    }


def test_the_beat_sweep_expects_a_sweep_the_event_missed(accounts_for_sweeps):
    request(staff_user(TREASURY), 2_000_000)
    OutboxMessage.objects.filter(task_name="reconciliation.expect_sweep").delete()

    assert tasks_expectations.expect_sent_payouts() == 2
    assert Expectation.objects.filter(source="sweep").count() == 2
