"""A month across the Bahrain calendar, built inside a travel.

March 2027, as the clock sees it: Friday-Saturday weekends, Eid al-Fitr seeded as estimated on 9-11
March and moved by staff (an approved request) to 10-12 March once announced, and Thursday 25 March
closed at noon. Every hour of the month is asked its business date.

April 2031, as settlement lives it: captures every calendar day (weekends, holidays and after the
cut-off included), beat's ``settlement_runs_due`` called every few minutes around each cut-off and
now and then in between, a seeded holiday (Eid al-Adha), one moved by treasury through
maker-checker (the Islamic New Year) and a day closed at noon: one run per business date, each
capture in the line of the business date it belongs to, and the totals adding up."""

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import time_machine

from apps.compliance import services as compliance_services
from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.settlement import selectors, services
from apps.settlement.models import BusinessCalendar, EarlyClosure, SettlementLine, SettlementRun
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import BAHRAIN, captured
from tests.factories.staff import SUPERVISOR, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db


def _march(*days: int) -> list[date]:
    return [date(2027, 3, day) for day in days]


def test_a_month_of_captures_falls_on_the_expected_business_dates():
    with time_machine.travel(datetime(2027, 2, 22, 9, 0, tzinfo=BAHRAIN), tick=False) as traveller:
        maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
        monday_evening = datetime(2027, 3, 8, 17, 30, tzinfo=BAHRAIN)
        assert selectors.business_date(currency="BHD", at=monday_evening) == date(2027, 3, 14)

        request = compliance_services.approval_request_create(
            action=services.HOLIDAY_MOVE, arguments={"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-12"},
            user=maker, reason="Eid al-Fitr announced for Wednesday 10 March")
        compliance_services.approval_request_approve(request_id=request.pk, user=checker,
                                                     otp_token=totp_code(checker))
        EarlyClosure.objects.create(
            calendar=BusinessCalendar.objects.get(currency="BHD"), business_date=date(2027, 3, 25),
            closed_at=datetime(2027, 3, 25, 12, 0, tzinfo=BAHRAIN), by="tests", reason="a sudden holiday from noon")

        assert selectors.business_date(currency="BHD", at=monday_evening) == date(2027, 3, 9)

        hours_of: Counter[date] = Counter()
        instant = datetime(2027, 3, 1, 0, 0, tzinfo=BAHRAIN)
        while instant < datetime(2027, 4, 1, 0, 0, tzinfo=BAHRAIN):
            traveller.move_to(instant)
            hours_of[selectors.business_date(currency="BHD")] += 1
            instant += timedelta(hours=1)

        # The first 17 hours of 1 March are its own; Thursday's evening, Friday and Saturday go to
        # Sunday (65 hours); Eid (Wednesday to Friday, the weekend after it) to Sunday 14 March;
        # Thursday 25 March closed at noon gives its afternoon to Sunday 28 March.
        assert hours_of == {
            **dict.fromkeys(_march(2, 3, 8, 15, 16, 17, 22, 23, 24, 30, 31), 24),
            date(2027, 3, 1): 17,
            date(2027, 3, 4): 24,
            date(2027, 3, 7): 7 + 24 + 24 + 17,
            date(2027, 3, 9): 24,
            date(2027, 3, 14): 7 + 24 * 4 + 17,
            date(2027, 3, 18): 24,
            date(2027, 3, 21): 7 + 24 + 24 + 17,
            date(2027, 3, 25): 7 + 12,
            date(2027, 3, 28): 12 + 24 + 24 + 17,
            date(2027, 3, 29): 24,
            date(2027, 4, 1): 7,
        }
        assert sorted(hours_of) == [*_march(1, 2, 3, 4, 7, 8, 9, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 28, 29, 30,
                                            31), date(2027, 4, 1)]
        assert selectors.business_dates(currency="BHD", start=date(2027, 3, 1), end=date(2027, 3, 31)) == sorted(
            hours_of)[:-1]
        assert clock.now() == datetime(2027, 3, 31, 23, 0, tzinfo=BAHRAIN)


# --- a month of captures, settled as beat would ------------------------------------------------

APRIL = [date(2031, 4, day) for day in range(1, 31)]
# April 2031 in Bahrain as this test arranges it: Eid al-Adha seeded (estimated) on Wednesday 2 to
# Friday 4; the Islamic New Year, seeded as estimated on Wednesday 23, moved by treasury to
# Thursday 24 once announced; Tuesday 15 closed at noon; Labor Day (Thursday 1 May) seeded.
APRIL_BUSINESS_DATES = [date(2031, 4, day) for day in (1, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22, 23, 27,
                                                       28, 29, 30)]
AFTER_APRIL = date(2031, 5, 4)  # Sunday: Thursday 1 May is Labor Day, then the weekend
CLOSED_EARLY = date(2031, 4, 15)
# Each calendar day: captures at these local times (some after the cut-off, one at it exactly).
CAPTURE_TIMES = [(0, 30), (9, 0), (11, 59), (12, 30), (16, 59), (17, 0), (21, 0)]
# Beat's every-few-minutes task, as seen from one day: now and then, and every 5 minutes around
# the cut-off (and around noon, when a day may be closed early).
BEAT_TIMES = [(0, 5), (9, 30), (11, 55), (12, 0), (12, 5), (12, 10), *((16, m) for m in range(45, 60, 5)),
              *((17, m) for m in range(0, 35, 5)), (20, 0), (23, 55)]


def _expected_business_date(at: datetime) -> date:
    """The business date of a capture, from this test's own list (not the calendar's code): its
    day's if that is a business date and it came before the day's cut-off (noon on the day closed
    early), otherwise the next business date."""
    day, cutoff = at.date(), (12, 0) if at.date() == CLOSED_EARLY else (17, 0)
    if day in APRIL_BUSINESS_DATES and (at.hour, at.minute) < cutoff:
        return day
    return next((business_date for business_date in APRIL_BUSINESS_DATES if business_date > day), AFTER_APRIL)


def test_a_month_of_captures_every_day_settles_each_business_date_once_as_beat_runs_it():
    beat = Actor.system("settlement.runs_due")
    with time_machine.travel(datetime(2031, 3, 20, 9, 0, tzinfo=BAHRAIN), tick=False) as traveller:
        maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
        request = compliance_services.approval_request_create(
            action=services.HOLIDAY_MOVE, arguments={"currency": "BHD", "date": "2031-04-23", "new_date": "2031-04-24"},
            user=maker, reason="The Islamic New Year is announced for Thursday 24 April")
        compliance_services.approval_request_approve(request_id=request.pk, user=checker,
                                                     otp_token=totp_code(checker))
        acme, zain = MerchantFactory(), MerchantFactory()

        happenings = [(datetime(day.year, day.month, day.day, hour, minute, tzinfo=BAHRAIN), "capture")
                      for day in APRIL for hour, minute in CAPTURE_TIMES]
        happenings += [(datetime(day.year, day.month, day.day, hour, minute, tzinfo=BAHRAIN), "beat")
                       for day in APRIL for hour, minute in BEAT_TIMES]
        happenings.append((datetime(2031, 4, 15, 12, 0, tzinfo=BAHRAIN), "close"))
        # At one instant: the capture first, then the closure, then beat (a run sees all three).
        order = {"capture": 0, "close": 1, "beat": 2}
        made = []
        for n, (at, what) in enumerate(sorted(happenings, key=lambda happening: (happening[0], order[happening[1]]))):
            traveller.move_to(at)
            if what == "capture":
                merchant, method = (acme, zain)[n % 2], ("card", "instant", "wire", "wallet")[n % 4]
                amount = 5_000 + 7 * n
                made.append((captured(merchant, amount, at=at, method=method), _expected_business_date(at)))
            elif what == "close":
                services.business_date_close_early(currency="BHD", actor=beat, reason="a sudden holiday from noon")
            else:
                services.settlement_runs_due(actor=beat)

        # One run for each business date closed by the end of April (Monday 31 March's too, at
        # beat's first call of the month), each of April's started within five minutes of its
        # cut-off (or of the early closure).
        runs = list(SettlementRun.objects.order_by("business_date"))
        assert [run.business_date for run in runs] == [date(2031, 3, 31), *APRIL_BUSINESS_DATES]
        assert all(run.status == SettlementRun.Status.COMPLETED and run.attempts == 1 for run in runs)
        for run in runs[1:]:
            assert timedelta(0) <= run.started_at - run.period_end < timedelta(minutes=5), run.business_date

        # Each capture is counted in its merchant's line of the business date it belongs to: a
        # weekend's, a holiday's and one after a cut-off in the next business date's.
        lines = {(line.merchant_id, line.business_date): line for line in SettlementLine.objects.all()}
        expected: dict[tuple, list[int]] = {}
        for payment, business_date in made:
            expected.setdefault((payment.merchant_id, business_date), []).append(payment.amount_captured)
        settled = {key: amounts for key, amounts in expected.items() if key[1] != AFTER_APRIL}
        assert {key: (line.captures, line.gross) for key, line in lines.items()} == {
            key: (len(amounts), sum(amounts)) for key, amounts in settled.items()}
        assert all(line.status == SettlementLine.Status.SETTLED for line in lines.values())
        by_capture = {payment.captured_at.astimezone(BAHRAIN).replace(tzinfo=None): business_date
                      for payment, business_date in made}
        assert by_capture[datetime(2031, 4, 5, 9, 0)] == date(2031, 4, 6)  # Saturday
        assert by_capture[datetime(2031, 4, 2, 9, 0)] == date(2031, 4, 6)  # Eid (seeded)
        assert by_capture[datetime(2031, 4, 23, 9, 0)] == date(2031, 4, 23)  # the estimated date, moved away
        assert by_capture[datetime(2031, 4, 24, 9, 0)] == date(2031, 4, 27)  # the announced date
        assert by_capture[datetime(2031, 4, 10, 17, 0)] == date(2031, 4, 13)  # Thursday at the cut-off
        assert by_capture[datetime(2031, 4, 15, 12, 30)] == date(2031, 4, 16)  # after the early closure

        # Totals add up to everything captured: what the runs settled, and in pending what belongs
        # to Sunday 4 May (Wednesday 30 April from its cut-off on).
        captured_total = sum(payment.amount_captured for payment, _ in made)
        assert sum(run.gross for run in runs) == sum(sum(amounts) for amounts in settled.values())
        pending = sum(ledger_selectors.role_account_balances(
            ref=AccountRef(AccountRole.MERCHANT_PENDING, "BHD", True, merchant_id=merchant.pk)).posted
            for merchant in (acme, zain))
        assert pending == sum(sum(amounts) for key, amounts in expected.items() if key[1] == AFTER_APRIL) > 0
        assert sum(run.gross for run in runs) + pending == captured_total
        available = sum(ledger_selectors.role_account_balances(
            ref=AccountRef(AccountRole.MERCHANT_AVAILABLE, "BHD", True, merchant_id=merchant.pk)).posted
            for merchant in (acme, zain))
        assert available == sum(run.net for run in runs)
        assert ledger_selectors.ledger_verify().ok
