"""Business-date math, exhaustively (hypothesis) and on Bahrain's week: pure Python, no database."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.settlement.data import BAHRAIN_WEEKEND, FRIDAY, SATURDAY, SUNDAY
from apps.settlement.domain.calendar import (
    Calendar,
    InvalidCalendar,
    business_date,
    business_dates,
    cutoff_at,
    is_business_day,
    local_date,
    next_business_date,
)

BAHRAIN = ZoneInfo("Asia/Bahrain")
WINDOW_START, WINDOW_END = date(2026, 1, 1), date(2026, 4, 30)
# Zones with and without daylight saving, far east and west, and a 45-minute offset.
ZONES = ["Asia/Bahrain", "UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Chatham",
         "Pacific/Kiritimati", "America/Adak"]

days = st.dates(min_value=WINDOW_START, max_value=WINDOW_END)
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 4, 30), timezones=st.just(UTC))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(st.sampled_from(ZONES))
    # Closures are any instant of the window: one later than the day's cut-off changes nothing.
    closures = draw(st.dictionaries(days, instants, max_size=10))
    return Calendar(
        time_zone=zone,
        weekend=draw(st.frozensets(st.integers(0, 6), max_size=6)),
        cutoff=draw(st.times()),
        holidays=draw(st.frozensets(days, max_size=40)),
        early_closures=closures,
    )


def bahrain(holidays: frozenset[date] = frozenset(), early_closures: dict | None = None) -> Calendar:
    return Calendar(time_zone="Asia/Bahrain", weekend=frozenset(BAHRAIN_WEEKEND), cutoff=time(17, 0),
                    holidays=holidays, early_closures=early_closures or {})


def at_bahrain(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=BAHRAIN)


# --- properties --------------------------------------------------------------------------------


@given(calendars(), instants)
def test_a_business_date_is_never_a_weekend_day_or_a_holiday(calendar, at):
    found = business_date(calendar, at)

    assert found.weekday() not in calendar.weekend
    assert found not in calendar.holidays


@given(calendars(), instants)
def test_an_instant_belongs_to_the_first_business_date_whose_cutoff_is_after_it(calendar, at):
    found = business_date(calendar, at)

    assert cutoff_at(calendar, found) > at
    # Every business date before it (from a few days before the instant's own day) closed already.
    day = local_date(calendar, at) - timedelta(days=3)
    while day < found:
        if is_business_day(calendar, day):
            assert cutoff_at(calendar, day) <= at, day
        day += timedelta(days=1)


@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_business_dates_never_go_back_in_time(calendar, at, later):
    assert business_date(calendar, at) <= business_date(calendar, at + later)


@given(calendars(), days)
def test_the_next_business_date_is_the_first_one_after(calendar, day):
    following = next_business_date(calendar, day)

    assert following > day
    assert is_business_day(calendar, following)
    assert not any(is_business_day(calendar, day + timedelta(days=n)) for n in range(1, (following - day).days))


@given(calendars(), days, days)
def test_the_business_dates_of_a_range_are_its_business_days_each_the_next_of_the_one_before(calendar, start, end):
    found = list(business_dates(calendar, start, end))

    assert all(is_business_day(calendar, day) and start <= day <= end for day in found)
    assert all(next_business_date(calendar, a) == b for a, b in pairwise(found))
    # Nothing left out at either end: the first is the first business day from start, the one
    # after the last is past the end.
    first = next_business_date(calendar, start - timedelta(days=1))
    assert found[:1] == ([first] if first <= end else [])
    if found:
        assert next_business_date(calendar, found[-1]) > end


@given(calendars(), days)
def test_a_day_closed_early_takes_nothing_from_its_closing_instant_on(calendar, day):
    if not is_business_day(calendar, day):
        return
    closed_at = datetime.combine(day, time(9, 30), tzinfo=calendar.zone).astimezone(UTC)
    closed = Calendar(time_zone=calendar.time_zone, weekend=calendar.weekend, cutoff=calendar.cutoff,
                      holidays=calendar.holidays, early_closures={**calendar.early_closures, day: closed_at})

    assert cutoff_at(closed, day) <= closed_at
    assert business_date(closed, closed_at) > day


# --- Bahrain's week ----------------------------------------------------------------------------

THURSDAY_3_DEC = date(2026, 12, 3)
SUNDAY_6_DEC = date(2026, 12, 6)


def test_thursday_before_the_cutoff_is_thursday_and_from_17_00_the_next_sunday():
    calendar = bahrain()

    assert business_date(calendar, at_bahrain(THURSDAY_3_DEC, 16, 59, 59)) == THURSDAY_3_DEC
    assert business_date(calendar, at_bahrain(THURSDAY_3_DEC, 17)) == SUNDAY_6_DEC
    assert business_date(calendar, at_bahrain(date(2026, 12, 4), 10)) == SUNDAY_6_DEC  # Friday
    assert business_date(calendar, at_bahrain(date(2026, 12, 5), 23, 59)) == SUNDAY_6_DEC  # Saturday
    assert cutoff_at(calendar, THURSDAY_3_DEC) == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert next_business_date(calendar, THURSDAY_3_DEC) == SUNDAY_6_DEC


def test_a_holiday_and_an_early_close_push_captures_to_the_next_business_date():
    # Bahrain's National Day, 16-17 December 2026 (Wednesday, Thursday), and Tuesday closed at noon.
    calendar = bahrain(holidays=frozenset({date(2026, 12, 16), date(2026, 12, 17)}),
                       early_closures={date(2026, 12, 15): at_bahrain(date(2026, 12, 15), 12)})

    assert business_date(calendar, at_bahrain(date(2026, 12, 15), 11, 59)) == date(2026, 12, 15)
    assert business_date(calendar, at_bahrain(date(2026, 12, 15), 12)) == date(2026, 12, 20)
    assert cutoff_at(calendar, date(2026, 12, 15)) == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    assert list(business_dates(calendar, date(2026, 12, 13), date(2026, 12, 21))) == [
        date(2026, 12, 13), date(2026, 12, 14), date(2026, 12, 15), date(2026, 12, 20), date(2026, 12, 21)]


def test_a_calendar_must_leave_a_business_day_and_name_a_real_zone():
    with pytest.raises(InvalidCalendar):
        Calendar(time_zone="Asia/Bahrain", weekend=frozenset(range(7)), cutoff=time(17))
    with pytest.raises(InvalidCalendar):
        Calendar(time_zone="Asia/Manama-ish", weekend=frozenset({FRIDAY, SATURDAY}), cutoff=time(17))
    with pytest.raises(InvalidCalendar):
        Calendar(time_zone="Asia/Bahrain", weekend=frozenset({SUNDAY}), cutoff=time(17, tzinfo=UTC))


def test_an_instant_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        business_date(bahrain(), datetime(2026, 12, 3, 12))
