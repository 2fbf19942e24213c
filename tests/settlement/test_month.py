"""March 2027 across the Bahrain calendar, as the clock sees it: Friday-Saturday weekends, Eid
al-Fitr seeded as estimated on 9-11 March and moved by staff (an approved request) to 10-12 March
once announced, and Thursday 25 March closed at noon. Every hour of the month is asked its business
date; the whole month is built inside the travel."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.compliance import services as compliance_services
from apps.core import clock
from apps.settlement import selectors, services
from apps.settlement.models import BusinessCalendar, EarlyClosure
from tests.factories.staff import SUPERVISOR, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")


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
