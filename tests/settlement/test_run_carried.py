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

from datetime import time
from decimal import Decimal

import pytest
import time_machine

from apps.ledger.data import AccountRole
from apps.payments import postings
from apps.settlement.models import SettlementLine, SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import (
    MONDAY,
    SUNDAY,
    TUESDAY,
    WEDNESDAY,
    at,
    captured,
    merchant_balance,
    refunded,
    settle,
)

pytestmark = pytest.mark.django_db
# Beat's run, a few minutes after the 17:00 cut-off.
BEAT = time(17, 5)


def test_a_refund_between_the_cut_off_and_the_run_leaves_no_line_carried_for_ever():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        acme = MerchantFactory()
        payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
        # 17:01 belongs to Tuesday; Monday's run (beat, a few minutes later) has not run yet, so
        # the refund takes 3.000 of Monday's money from pending.
        traveller.move_to(at(MONDAY, 17, 1))
        refunded(payment, 3_000, at=at(MONDAY, 17, 1))
        settle(traveller, MONDAY, run_at=BEAT)
        settle(traveller, TUESDAY, run_at=BEAT)
        traveller.move_to(at(WEDNESDAY, 10))
        captured(acme, 20_000, at=at(WEDNESDAY, 10), method="wire")
        settle(traveller, WEDNESDAY, run_at=BEAT)

        # Pending held every line's money (10.000 - 3.000 + 20.000) by Wednesday's run: each line
        # settles, pending empties, available holds the three nets (9.000, -3.000, 19.000).
        lines = SettlementLine.objects.order_by("business_date")
        assert [(line.business_date, line.status) for line in lines] == [
            (MONDAY, SettlementLine.Status.SETTLED), (TUESDAY, SettlementLine.Status.SETTLED),
            (WEDNESDAY, SettlementLine.Status.SETTLED)]
        assert merchant_balance(acme, AccountRole.MERCHANT_PENDING) == 0
        assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == 9_000 - 3_000 + 19_000


def test_a_reserve_released_by_a_line_settled_late_is_released_once():
    with time_machine.travel(at(SUNDAY, 9), tick=False) as traveller:
        acme = MerchantFactory()
        SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("10"), reserve_days=1,
                                       payout_minimum=0, effective_from=SUNDAY, created_at=at(SUNDAY, 9),
                                       created_by="test")
        captured(acme, 100_000, at=at(SUNDAY, 10), method="wire")
        settle(traveller, SUNDAY, run_at=BEAT)  # holds 9.900 until Monday
        traveller.move_to(at(MONDAY, 10))
        payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
        traveller.move_to(at(MONDAY, 11))
        refund = refunded(payment, 10_000, at=at(MONDAY, 11), succeeded=False)  # still holding pending
        settle(traveller, MONDAY, run_at=BEAT)  # Monday's line, releasing Sunday's 9.900, is carried
        monday = SettlementLine.objects.get(business_date=MONDAY)
        assert (monday.status, monday.reserve_released) == (SettlementLine.Status.CARRIED, 9_900)
        traveller.move_to(at(TUESDAY, 9))
        postings.refund_holds_void(payment, refund)  # the refund failed: pending is free again
        settle(traveller, TUESDAY, run_at=BEAT)

        # Tuesday's run settles Monday's line, which releases Sunday's reserve: nothing else is
        # due on Tuesday, and nothing is left carried.
        monday.refresh_from_db()
        assert monday.status == SettlementLine.Status.SETTLED
        sunday = SettlementLine.objects.get(business_date=SUNDAY)
        assert sunday.released_by_id == monday.pk
        assert not SettlementLine.objects.filter(status=SettlementLine.Status.CARRIED).exists()
        assert sum(SettlementLine.objects.filter(business_date=TUESDAY).values_list("reserve_released", flat=True)) == 0
        assert merchant_balance(acme, AccountRole.MERCHANT_RESERVE) == monday.reserve_held
        assert merchant_balance(acme, AccountRole.MERCHANT_AVAILABLE) == sunday.net + monday.net

