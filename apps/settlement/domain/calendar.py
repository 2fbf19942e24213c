"""Business dates: which day's settlement an instant belongs to (close of business, as in Apache
Fineract), in plain Python.

A calendar has a time zone, weekend weekdays, a cut-off local time, holidays and early closures.
A business date is a day that is neither a weekend day nor a holiday. Its cut-off is that day's
cut-off local time in the calendar's zone, or the instant it was closed early, whichever is first.
An instant belongs to the first business date whose cut-off is after it: after the cut-off, on a
weekend or a holiday, it belongs to the next business date.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.settlement.data import WEEKDAYS


class InvalidCalendar(ValueError):
    """A calendar that can have no business date, or names an unknown time zone."""


@dataclass(frozen=True, slots=True)
class Calendar:
    time_zone: str  # an IANA zone, "Asia/Bahrain"
    weekend: frozenset[int]  # weekdays as date.weekday() numbers them (Monday 0 ... Sunday 6)
    cutoff: time  # local time in time_zone, naive
    holidays: frozenset[date] = frozenset()
    early_closures: Mapping[date, datetime] = field(default_factory=dict)  # business date → instant closed

    def __post_init__(self) -> None:
        if not self.weekend < frozenset(WEEKDAYS):
            raise InvalidCalendar(f"A weekend is some of the weekdays 0-6, not all: {sorted(self.weekend)}.")
        if self.cutoff.tzinfo is not None:
            raise InvalidCalendar("The cut-off is a local time in the calendar's zone, without a zone of its own.")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as unknown:
            raise InvalidCalendar(f"{self.time_zone!r} is not a time zone.") from unknown
        for closed_at in self.early_closures.values():
            if closed_at.tzinfo is None:
                raise InvalidCalendar("An early closure is an instant (timezone-aware).")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def is_business_day(calendar: Calendar, day: date) -> bool:
    return day.weekday() not in calendar.weekend and day not in calendar.holidays


def next_business_date(calendar: Calendar, day: date) -> date:
    """The first business date after ``day``. Terminates: a weekend leaves a weekday open and the
    holidays are finitely many."""
    following = day + timedelta(days=1)
    while not is_business_day(calendar, following):
        following += timedelta(days=1)
    return following


def previous_business_date(calendar: Calendar, day: date) -> date:
    """The last business date before ``day``."""
    day -= timedelta(days=1)
    while not is_business_day(calendar, day):
        day -= timedelta(days=1)
    return day


def business_date_period(calendar: Calendar, day: date) -> tuple[datetime, datetime]:
    """The instants belonging to business date ``day``: from the previous business date's cut-off
    (included) to its own (excluded)."""
    return cutoff_at(calendar, previous_business_date(calendar, day)), cutoff_at(calendar, day)


def first_business_date_from(calendar: Calendar, day: date) -> date:
    """``day`` if it is a business date, else the next one."""
    return day if is_business_day(calendar, day) else next_business_date(calendar, day)


def cutoff_at(calendar: Calendar, business_date: date) -> datetime:
    """The instant ``business_date`` closes, in the calendar's zone: its cut-off local time, or its
    early closure if sooner.

    For a day that is no business date this is still the instant its cut-off would be; callers ask
    about business dates."""
    scheduled = datetime.combine(business_date, calendar.cutoff, tzinfo=calendar.zone)
    closed_early = calendar.early_closures.get(business_date)
    if closed_early is not None and closed_early < scheduled:
        return closed_early.astimezone(calendar.zone)
    return scheduled


def local_date(calendar: Calendar, at: datetime) -> date:
    if at.tzinfo is None:
        raise ValueError("An instant is timezone-aware.")
    return at.astimezone(calendar.zone).date()


def business_date(calendar: Calendar, at: datetime) -> date:
    """The business date ``at`` belongs to: the first business date whose cut-off is after ``at``.

    No business date before ``at``'s local date can qualify (its cut-off is on its own day, or
    earlier when closed early), so the search starts there.
    """
    candidate = first_business_date_from(calendar, local_date(calendar, at))
    while cutoff_at(calendar, candidate) <= at:
        candidate = next_business_date(calendar, candidate)
    return candidate


def business_dates(calendar: Calendar, start: date, end: date) -> Iterator[date]:
    """The business dates from ``start`` to ``end``, both included, in order."""
    day = start
    while day <= end:
        if is_business_day(calendar, day):
            yield day
        day += timedelta(days=1)
