"""Carried lines settle, and settle once: two ways line-by-line settlement went wrong (found by the
property tests' oracle), held fixed here.

1. A refund resolved after a business date's cut-off but before its run takes that date's money
   from pending (its pending part counts in the next date's line). The closed date's line finds
   pending short and is carried; the next date's line alone has more refunds from pending than
   captures. The run settles a merchant's carried lines together with its new one, their figures
   netted in one chain, so the two settle each other.
2. A line that releases a reserve falling due and is carried keeps that reserve: the reserve is
   given to the line that releases it when the line is computed, so the next run's line does not
   count it due again.

State is built inside a travel to April 2031, as in test_runs.py (Sunday 6 to Thursday 10 are
business dates).
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.payments import postings
from apps.settlement import services
from apps.settlement.models import SettlementLine, SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import captured, refunded

pytestmark = pytest.mark.django_db
BAHRAIN = ZoneInfo("Asia/Bahrain")
SUNDAY = date(2031, 4, 6)
MONDAY = date(2031, 4, 7)
TUESDAY = date(2031, 4, 8)
WEDNESDAY = date(2031, 4, 9)
ACTOR = Actor.system("tests")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BAHRAIN)


def balance(merchant, role: AccountRole) -> int:
    return ledger_selectors.role_account_balances(ref=AccountRef(role, "BHD", True, merchant_id=merchant.pk)).posted


def settle(traveller, day: date) -> None:
    traveller.move_to(at(day, 17, 5))
    services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)


def test_a_refund_between_the_cut_off_and_the_run_leaves_no_line_carried_for_ever():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        acme = MerchantFactory()
        payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
        # 17:01 belongs to Tuesday; Monday's run (beat, a few minutes later) has not run yet, so
        # the refund takes 3.000 of Monday's money from pending.
        traveller.move_to(at(MONDAY, 17, 1))
        refunded(payment, 3_000, at=at(MONDAY, 17, 1))
        settle(traveller, MONDAY)
        settle(traveller, TUESDAY)
        traveller.move_to(at(WEDNESDAY, 10))
        captured(acme, 20_000, at=at(WEDNESDAY, 10), method="wire")
        settle(traveller, WEDNESDAY)

        # Pending held every line's money (10.000 - 3.000 + 20.000) by Wednesday's run: each line
        # settles, pending empties, available holds the three nets (9.000, -3.000, 19.000).
        lines = SettlementLine.objects.order_by("business_date")
        assert [(line.business_date, line.status) for line in lines] == [
            (MONDAY, SettlementLine.Status.SETTLED), (TUESDAY, SettlementLine.Status.SETTLED),
            (WEDNESDAY, SettlementLine.Status.SETTLED)]
        assert balance(acme, AccountRole.MERCHANT_PENDING) == 0
        assert balance(acme, AccountRole.MERCHANT_AVAILABLE) == 9_000 - 3_000 + 19_000


def test_a_reserve_released_by_a_line_settled_late_is_released_once():
    with time_machine.travel(at(SUNDAY, 9), tick=False) as traveller:
        acme = MerchantFactory()
        SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("10"), reserve_days=1,
                                       payout_minimum=0, effective_from=SUNDAY, created_at=at(SUNDAY, 9),
                                       created_by="test")
        captured(acme, 100_000, at=at(SUNDAY, 10), method="wire")
        settle(traveller, SUNDAY)  # holds 9.900 until Monday
        traveller.move_to(at(MONDAY, 10))
        payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
        traveller.move_to(at(MONDAY, 11))
        refund = refunded(payment, 10_000, at=at(MONDAY, 11), succeeded=False)  # still holding pending
        settle(traveller, MONDAY)  # Monday's line, releasing Sunday's 9.900, is carried
        monday = SettlementLine.objects.get(business_date=MONDAY)
        assert (monday.status, monday.reserve_released) == (SettlementLine.Status.CARRIED, 9_900)
        traveller.move_to(at(TUESDAY, 9))
        postings.refund_holds_void(payment, refund)  # the refund failed: pending is free again
        settle(traveller, TUESDAY)

        # Tuesday's run settles Monday's line, which releases Sunday's reserve: nothing else is
        # due on Tuesday, and nothing is left carried.
        monday.refresh_from_db()
        assert monday.status == SettlementLine.Status.SETTLED
        sunday = SettlementLine.objects.get(business_date=SUNDAY)
        assert sunday.released_by_id == monday.pk
        assert not SettlementLine.objects.filter(status=SettlementLine.Status.CARRIED).exists()
        assert sum(SettlementLine.objects.filter(business_date=TUESDAY).values_list("reserve_released", flat=True)) == 0
        assert balance(acme, AccountRole.MERCHANT_RESERVE) == monday.reserve_held
        assert balance(acme, AccountRole.MERCHANT_AVAILABLE) == sunday.net + monday.net

