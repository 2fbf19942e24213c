"""Reads of the business calendar: a currency's calendar as the domain sees it, and the business
dates and cut-offs it gives. ``clock`` is the one source of "now"."""

from dataclasses import dataclass
from datetime import date, datetime

from apps.core import clock
from apps.settlement.domain import calendar as business_calendar
from apps.settlement.exceptions import UnknownCalendar
from apps.settlement.models import BusinessCalendar


@dataclass(frozen=True, slots=True)
class BusinessDay:
    """Where ``at`` stands: its business date, when that date closes, and the date after it."""

    currency: str
    at: datetime
    business_date: date
    cutoff_at: datetime
    next_business_date: date
    time_zone: str


def calendar_get(currency: str) -> business_calendar.Calendar:
    """``currency``'s calendar with all its holidays and early closures (a few hundred rows: two
    queries). Raises UnknownCalendar."""
    found = BusinessCalendar.objects.filter(currency=currency.upper()).first()
    if found is None:
        raise UnknownCalendar(f"There is no business calendar for {currency}.")
    return business_calendar.Calendar(
        time_zone=found.time_zone,
        weekend=frozenset(found.weekend_days),
        cutoff=found.cutoff,
        holidays=frozenset(found.holidays.values_list("date", flat=True)),
        early_closures=dict(found.early_closures.values_list("business_date", "closed_at")),
    )


def business_date(*, currency: str, at: datetime | None = None) -> date:
    """The business date ``at`` (default now) belongs to in ``currency``. Raises UnknownCalendar."""
    return business_calendar.business_date(calendar_get(currency), at or clock.now())


def cutoff_at(*, currency: str, business_date: date) -> datetime:
    """The instant ``business_date`` closes in ``currency``. Raises UnknownCalendar."""
    return business_calendar.cutoff_at(calendar_get(currency), business_date)


def next_business_date(*, currency: str, after: date) -> date:
    """The first business date after ``after`` in ``currency``. Raises UnknownCalendar."""
    return business_calendar.next_business_date(calendar_get(currency), after)


def business_dates(*, currency: str, start: date, end: date) -> list[date]:
    """``currency``'s business dates from ``start`` to ``end``, both included. Raises UnknownCalendar."""
    return list(business_calendar.business_dates(calendar_get(currency), start, end))


def business_day(*, currency: str, at: datetime | None = None) -> BusinessDay:
    """Today's (or ``at``'s) business date, its cut-off and the next business date, from one read
    of the calendar. Raises UnknownCalendar."""
    calendar, at = calendar_get(currency), at or clock.now()
    today = business_calendar.business_date(calendar, at)
    return BusinessDay(
        currency=currency.upper(), at=at, business_date=today, cutoff_at=business_calendar.cutoff_at(calendar, today),
        next_business_date=business_calendar.next_business_date(calendar, today), time_zone=calendar.time_zone,
    )
