"""The settlement run: a business date's lines, their ledger postings, and every way a run is
refused, fails, resumes and carries. State is built inside a travel to April 2031 (Sunday 6 to
Thursday 10 are business dates; Eid al-Adha ends on Friday 4)."""

import json
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.models import Transfer
from apps.settlement import services
from apps.settlement.exceptions import BusinessDateNotClosed, NotABusinessDate, SettlementUnpriced
from apps.settlement.models import FeePlan, FeePlanLine, SettlementLine, SettlementRun, SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import ACTOR, MONDAY, at, captured, merchant_balance, refunded

pytestmark = pytest.mark.django_db


def system_balance(role: AccountRole, *, livemode: bool = True) -> int:
    """A system account's balance read as the platform's: credits less debits."""
    return ledger_selectors.role_account_balances(ref=AccountRef(role, "BHD", livemode)).posted


@pytest.fixture
def travel():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        yield traveller


def test_a_business_date_settles_each_merchants_net_from_pending_to_available(travel):
    acme, zain = MerchantFactory(), MerchantFactory()
    # Sunday after the cut-off belongs to Monday; Monday 16:59 too; Monday 17:00 is Tuesday's.
    captured(acme, 12_500, at=at(MONDAY - timedelta(days=1), 17, 0))
    second = captured(acme, 13_500, at=at(MONDAY, 16, 59))
    captured(acme, 4_000, at=at(MONDAY, 17, 0))
    captured(zain, 100_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 16, 59))
    refunded(second, 5_000, at=at(MONDAY, 16, 59))
    travel.move_to(at(MONDAY, 17, 5))

    run = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)

    assert run.status == SettlementRun.Status.COMPLETED
    acme_line = SettlementLine.objects.get(run=run, merchant_id=acme.pk)
    # Card 2.5 % + 0.100: 412.5 → 412 and 437.5 → 438 (half-even); the 5.000 refund of the 13.500
    # payment returns 337 * 5000/13500 = 124.8 → 125 fils of the percentage part.
    assert (acme_line.captures, acme_line.gross, acme_line.fees_charged, acme_line.refunds,
            acme_line.fees_returned, acme_line.fees) == (2, 26_000, 850, 5_000, 125, 725)
    assert acme_line.net == 26_000 - 5_000 - 725
    assert acme_line.status == SettlementLine.Status.SETTLED
    zain_line = SettlementLine.objects.get(run=run, merchant_id=zain.pk)
    assert (zain_line.gross, zain_line.fees, zain_line.net) == (100_000, 1_000, 99_000)
    # Pending keeps only Tuesday's capture; available holds the net; fee revenue the fees.
    assert merchant_balance(acme, AccountRole.MERCHANT_PENDING) == 4_000
    assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == acme_line.net
    assert merchant_balance(zain, AccountRole.MERCHANT_AVAILABLE) == 99_000
    # Exact fees 412.5 + 437.5 - 124.8 + 1000 = 1725.2, rounded once 1725: no rounding difference.
    assert system_balance(AccountRole.FEE_REVENUE) == 725 + 1_000
    assert run.fee_rounding_difference == 0
    assert (run.merchants, run.gross, run.refunds, run.fees, run.net) == (2, 126_000, 5_000, 1_725, 119_275)


def test_the_fee_rounding_difference_is_posted_so_fee_revenue_is_the_exact_total_rounded_once(travel):
    acme = MerchantFactory()
    # 0.5 % of 4.100 BHD = 20.5 fils → 20 (half-even), three times: 60 posted, 61.5 exact → 62.
    for _ in range(3):
        captured(acme, 4_100, at=at(MONDAY, 10), method="wallet")
    travel.move_to(at(MONDAY, 18))
    run = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    line = SettlementLine.objects.get(run=run)
    assert (line.fees, line.fees_exact) == (60, Decimal("61.5"))
    assert run.fee_rounding_difference == 2
    assert system_balance(AccountRole.FEE_REVENUE) == 62
    assert system_balance(AccountRole.ROUNDING) == -2


def test_a_run_before_the_cut_off_or_on_a_day_off_is_refused_and_writes_nothing(travel):
    acme = MerchantFactory()
    captured(acme, 10_000, at=at(MONDAY, 10))
    travel.move_to(at(MONDAY, 16, 59))
    with pytest.raises(BusinessDateNotClosed):
        services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    with pytest.raises(NotABusinessDate):
        services.settlement_run(business_date=date(2031, 4, 4), currency="BHD", actor=ACTOR)
    assert not SettlementRun.objects.exists()
    assert not Transfer.objects.filter(code__startswith="settlement").exists()


def test_running_a_completed_run_again_changes_nothing(travel):
    acme = MerchantFactory()
    captured(acme, 10_000, at=at(MONDAY, 10))
    travel.move_to(at(MONDAY, 18))
    first = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    transfers, events = Transfer.objects.count(), AuditEvent.objects.count()
    again = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    assert again.pk == first.pk and again.attempts == 1
    assert (Transfer.objects.count(), AuditEvent.objects.count()) == (transfers, events)


def test_a_rolling_reserve_is_held_and_released_on_its_business_date(travel):
    acme = MerchantFactory()
    SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("10"), reserve_days=2,
                                   payout_minimum=0, effective_from=MONDAY, created_at=at(MONDAY, 9),
                                   created_by="test")
    captured(acme, 100_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 18))
    monday = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    line = SettlementLine.objects.get(run=monday)
    # Net before the reserve 99.000; 10 % held until the second business date after Monday.
    assert (line.reserve_held, line.reserve_release_on, line.net) == (9_900, date(2031, 4, 9), 89_100)
    assert merchant_balance(acme, AccountRole.MERCHANT_RESERVE) == 9_900
    tuesday = MONDAY + timedelta(days=1)
    travel.move_to(at(tuesday, 18))
    services.settlement_run(business_date=tuesday, currency="BHD", actor=ACTOR)
    assert not SettlementLine.objects.filter(run__business_date=tuesday).exists()
    wednesday = tuesday + timedelta(days=1)
    travel.move_to(at(wednesday, 18))
    run = services.settlement_run(business_date=wednesday, currency="BHD", actor=ACTOR)
    release = SettlementLine.objects.get(run=run)
    assert (release.gross, release.reserve_released, release.net) == (0, 9_900, 9_900)
    assert merchant_balance(acme, AccountRole.MERCHANT_RESERVE) == 0
    assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == 99_000
    line.refresh_from_db()
    assert line.released_by_id == release.pk


def test_a_line_whose_money_a_pending_refund_still_holds_is_carried_and_settled_by_the_next_run(travel):
    acme = MerchantFactory()
    payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    # After Monday's cut-off, before its run: a refund holds the whole of pending.
    travel.move_to(at(MONDAY, 17, 1))
    refund = refunded(payment, 10_000, at=at(MONDAY, 17, 1), succeeded=False)
    monday = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    line = SettlementLine.objects.get(run=monday)
    assert line.status == SettlementLine.Status.CARRIED and line.carried_note
    assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == 0
    assert monday.status == SettlementRun.Status.COMPLETED
    # The refund fails on Tuesday: its hold is voided, and Tuesday's run settles Monday's line.
    from apps.payments import postings
    postings.refund_holds_void(payment, refund)
    tuesday = MONDAY + timedelta(days=1)
    travel.move_to(at(tuesday, 18))
    services.settlement_run(business_date=tuesday, currency="BHD", actor=ACTOR)
    line.refresh_from_db()
    assert line.status == SettlementLine.Status.SETTLED and line.settled_in.business_date == tuesday
    assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == 9_000


def test_a_method_no_plan_prices_fails_the_run_which_resumes_once_priced(travel):
    acme = MerchantFactory()
    captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    FeePlanLine.objects.filter(method="wire").delete()
    travel.move_to(at(MONDAY, 18))
    with pytest.raises(SettlementUnpriced):
        services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    run = SettlementRun.objects.get()
    assert run.status == SettlementRun.Status.FAILED and "wire" in run.failure
    assert AuditEvent.objects.filter(action="settlement.run_failed").count() == 1
    assert not Transfer.objects.filter(code__startswith="settlement").exists()
    FeePlanLine.objects.create(plan=FeePlan.objects.get(is_default=True), method="", currency="BHD",
                               percent=Decimal("1"), effective_from=MONDAY, created_at=at(MONDAY, 9),
                               created_by="test")
    resumed = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    assert (resumed.status, resumed.attempts, resumed.fees) == (SettlementRun.Status.COMPLETED, 2, 100)
    assert AuditEvent.objects.filter(action="settlement.run_resumed").count() == 1


def test_settlement_run_command_prints_the_run_as_json(travel):
    acme = MerchantFactory()
    captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 18))
    out = StringIO()
    call_command("settlement_run", "--date", MONDAY.isoformat(), "--currency", "BHD", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    run = SettlementRun.objects.get()
    assert printed == {"run_id": services.run_public_id(run), "business_date": "2031-04-07", "currency": "BHD",
                       "status": "completed", "merchants": 1, "gross": 10_000, "fees": 1_000, "refunds": 0,
                       "reserve_held": 0, "reserve_released": 0, "net": 9_000}


def test_close_now_closes_today_early_journaled_and_settles_it(travel):
    acme = MerchantFactory()
    captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 12))
    with pytest.raises(CommandError, match="reason"):
        call_command("settlement_run", "--close-now", stdout=StringIO())
    out = StringIO()
    call_command("settlement_run", "--close-now", "--reason", "Sudden national holiday", "--json", stdout=out)
    assert json.loads(out.getvalue())["net"] == 9_000
    assert AuditEvent.objects.filter(action="settlement.business_date_closed_early",
                                     reason="Sudden national holiday").exists()
    # A capture now belongs to Tuesday.
    later = captured(acme, 5_000, at=at(MONDAY, 12, 30), method="wire")
    assert later.captured_at > SettlementRun.objects.get().period_end


def test_the_readme_worked_example_settles_to_the_fils(travel):
    """README, "The settlement day (a BHD worked example)", line by line."""
    from apps.merchants import services as merchants_services
    from apps.payments.models import Payout

    coffee = MerchantFactory(legal_name="Gulf Coffee W.L.L.")
    merchants_services.bank_account_set(merchant_id=coffee.pk, currency="BHD", iban="BH67BMAG00001299123456",
                                        bic="BMAGBHBM", beneficiary_name="Gulf Coffee W.L.L.", actor=ACTOR,
                                        reason="onboarding")
    SettlementTerms.objects.create(merchant=coffee, currency="BHD", reserve_percent=Decimal("10"), reserve_days=2,
                                   payout_minimum=5_000, effective_from=MONDAY, created_at=at(MONDAY, 9),
                                   created_by="test")
    captured(coffee, 12_500, at=at(MONDAY - timedelta(days=1), 17, 30))
    second = captured(coffee, 13_500, at=at(MONDAY, 16, 59))
    travel.move_to(at(MONDAY, 16, 59))
    refunded(second, 5_000, at=at(MONDAY, 16, 59))
    captured(coffee, 4_000, at=at(MONDAY, 17, 0))
    travel.move_to(at(MONDAY, 17, 5))

    run = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    line = SettlementLine.objects.get(run=run)
    assert (line.gross, line.refunds, line.fees_charged, line.fees_returned, line.fees, line.reserve_held,
            line.reserve_release_on, line.reserve_released, line.net) == (
        26_000, 5_000, 850, 125, 725, 2_028, date(2031, 4, 9), 0, 18_247)
    legs = dict(Transfer.objects.filter(reference=services.line_public_id(line)).values_list("code", "amount"))
    assert legs == {"settlement_reserve": 2_028, "settlement_fee": 725, "settlement_sweep": 18_247}
    assert (merchant_balance(coffee, AccountRole.MERCHANT_PENDING),
            merchant_balance(coffee, AccountRole.MERCHANT_AVAILABLE),
            merchant_balance(coffee, AccountRole.MERCHANT_RESERVE)) == (4_000, 18_247, 2_028)
    assert Payout.objects.get(pk=line.payout_id).amount == 18_247
    assert run.fee_rounding_difference == 0

    wednesday = MONDAY + timedelta(days=2)
    for day in (MONDAY + timedelta(days=1), wednesday):
        travel.move_to(at(day, 17, 5))
        services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)
    release = SettlementLine.objects.get(run__business_date=wednesday)
    assert (release.reserve_released, release.net) == (2_028, 2_028)
    # What stays in reserve is Tuesday's: 10 % of 4.000 - 0.250 (the card minimum) = 0.375, until Thursday.
    assert merchant_balance(coffee, AccountRole.MERCHANT_RESERVE) == 375
