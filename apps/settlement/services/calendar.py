"""Changes to the business calendar. Adding, moving and removing a holiday are maker-checker
actions (registered in apps.py): approving a request calls these services as its maker, approved
by its checker. Closing today's business date early is an operator's decision (the settlement run's
``--close-now``). Each change is journaled in its own transaction."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.settlement import selectors
from apps.settlement.exceptions import BusinessDateNotOpen, HolidayChangeRefused, ReasonRequired, UnknownCalendar
from apps.settlement.models import BusinessCalendar, EarlyClosure, Holiday

HOLIDAY_ADD = "settlement.holiday_add"
HOLIDAY_MOVE = "settlement.holiday_move"
HOLIDAY_REMOVE = "settlement.holiday_remove"


@dataclass(frozen=True, slots=True)
class HolidayChange:
    """A checked request to change a holiday: what it acts on, as staff read it."""

    calendar: BusinessCalendar
    holiday: Holiday | None  # the holiday moved or removed
    label: str


def _as_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as invalid:
        raise HolidayChangeRefused(f"The {what} {value!r} is not a date (YYYY-MM-DD).") from invalid


def _calendar(currency: Any, *, lock: bool = False) -> BusinessCalendar:
    found = BusinessCalendar.objects.select_for_update() if lock else BusinessCalendar.objects
    calendar = found.filter(currency=str(currency or "").upper()).first()
    if calendar is None:
        raise UnknownCalendar(f"There is no business calendar for {currency}.")
    return calendar


def _not_past(calendar: BusinessCalendar, day: date) -> None:
    """A past day's holidays are how its business dates were settled: they stay as they were."""
    today = clock.now().astimezone(ZoneInfo(calendar.time_zone)).date()
    if day < today:
        raise HolidayChangeRefused(f"{day:%Y-%m-%d} is past ({calendar.currency}'s today is {today:%Y-%m-%d}): "
                                   "its business dates stand.")


def _holiday_on(calendar: BusinessCalendar, day: date, *, lock: bool = False) -> Holiday:
    found = Holiday.objects.select_for_update() if lock else Holiday.objects
    holiday = found.filter(calendar=calendar, date=day).first()
    if holiday is None:
        raise HolidayChangeRefused(f"{calendar.currency} has no holiday on {day:%Y-%m-%d}.")
    return holiday


def _free(calendar: BusinessCalendar, day: date) -> None:
    held = Holiday.objects.filter(calendar=calendar, date=day).first()
    if held is not None:
        raise HolidayChangeRefused(f"{day:%Y-%m-%d} is already a holiday of {calendar.currency} ({held.name}).")


def holiday_change_check(action: str, arguments: dict[str, Any], *, lock: bool = False) -> HolidayChange:
    """What a holiday change request would do, or why it may not: the calendar must exist, the days
    be today or later, the holiday to move or remove exist and the day to add or move to be free.
    Raises UnknownCalendar, HolidayChangeRefused. Writes nothing."""
    calendar = _calendar(arguments.get("currency"), lock=lock)
    day = _as_date(arguments.get("date"), "date")
    _not_past(calendar, day)
    if action == HOLIDAY_ADD:
        name = str(arguments.get("name") or "").strip()
        if not name:
            raise HolidayChangeRefused("A new holiday needs its name.")
        _free(calendar, day)
        return HolidayChange(calendar, None, f"{calendar.currency}: add {name} on {day:%Y-%m-%d}")
    holiday = _holiday_on(calendar, day, lock=lock)
    if action == HOLIDAY_MOVE:
        new_date = _as_date(arguments.get("new_date"), "new date")
        _not_past(calendar, new_date)
        if new_date == day:
            raise HolidayChangeRefused(f"{holiday.name} is already on {day:%Y-%m-%d}.")
        _free(calendar, new_date)
        return HolidayChange(calendar, holiday,
                             f"{calendar.currency}: move {holiday.name} from {day:%Y-%m-%d} to {new_date:%Y-%m-%d}")
    if action == HOLIDAY_REMOVE:
        return HolidayChange(calendar, holiday, f"{calendar.currency}: remove {holiday.name} on {day:%Y-%m-%d}")
    raise HolidayChangeRefused(f"{action!r} is no holiday change.")


def _state(holiday: Holiday) -> dict[str, Any]:
    return {"currency": holiday.calendar.currency, "date": holiday.date.isoformat(), "name": holiday.name,
            "source": holiday.source, "estimated": holiday.estimated}


def holiday_add(*, currency: str, date: Any, name: str, actor: Actor, reason: str) -> Holiday:
    """Make ``date`` a holiday of ``currency``'s calendar (an announced date: not estimated), journaled.

    Invariant: one holiday per calendar and date (a database constraint; the calendar row is
    locked so two changes of one calendar run one after the other). Raises UnknownCalendar,
    HolidayChangeRefused (a past date, a date already a holiday, no name). Nothing is written then.
    """
    with transaction.atomic():
        change = holiday_change_check(HOLIDAY_ADD, {"currency": currency, "date": date, "name": name}, lock=True)
        holiday = Holiday.objects.create(calendar=change.calendar, date=_as_date(date, "date"), name=name.strip(),
                                         source=Holiday.Source.STAFF, estimated=False)
        audit_record(actor=actor, action="settlement.holiday_added", object_type="settlement.holiday",
                     object_id=str(holiday.pk), after=_state(holiday), reason=reason)
    return holiday


def holiday_move(*, currency: str, date: Any, new_date: Any, actor: Actor, reason: str) -> Holiday:
    """Move ``currency``'s holiday on ``date`` to ``new_date`` (its announced date: no longer
    estimated, and staff's from now on), journaled with both dates.

    Raises UnknownCalendar, HolidayChangeRefused (no holiday on ``date``, ``new_date`` already a
    holiday or the same day, either day past). Nothing is written then.
    """
    with transaction.atomic():
        change = holiday_change_check(HOLIDAY_MOVE, {"currency": currency, "date": date, "new_date": new_date},
                                      lock=True)
        holiday = change.holiday
        before = _state(holiday)
        holiday.date, holiday.source, holiday.estimated = _as_date(new_date, "new date"), Holiday.Source.STAFF, False
        holiday.save(update_fields=["date", "source", "estimated"])
        audit_record(actor=actor, action="settlement.holiday_moved", object_type="settlement.holiday",
                     object_id=str(holiday.pk), before=before, after=_state(holiday), reason=reason)
    return holiday


def holiday_remove(*, currency: str, date: Any, actor: Actor, reason: str) -> str:
    """Make ``date`` a business day of ``currency`` again (unless a weekend day), journaled with the
    holiday as it was. Raises UnknownCalendar, HolidayChangeRefused (no holiday then, a past date)."""
    with transaction.atomic():
        change = holiday_change_check(HOLIDAY_REMOVE, {"currency": currency, "date": date}, lock=True)
        holiday = change.holiday
        before, holiday_id = _state(holiday), holiday.pk
        holiday.delete()
        audit_record(actor=actor, action="settlement.holiday_removed", object_type="settlement.holiday",
                     object_id=str(holiday_id), before=before, reason=reason)
    return f"Removed {before['name']} on {before['date']} ({before['currency']})."


def business_date_close_early(*, currency: str, actor: Actor, reason: str) -> EarlyClosure:
    """Close today's business date of ``currency`` now, before its cut-off (a sudden holiday): from
    this instant, captures belong to the next business date. Journaled with who and why.

    Invariant: only today's own business date, while it is open, is closed, and once (one closure
    per calendar and date, a database constraint; the calendar row is locked). Raises
    UnknownCalendar, BusinessDateNotOpen (a weekend day or holiday, past the cut-off, closed
    already), ReasonRequired. Nothing is written then.
    """
    if not reason.strip():
        raise ReasonRequired("Closing a business date early needs a reason.")
    with transaction.atomic():
        calendar, now = _calendar(currency, lock=True), clock.now()
        today = now.astimezone(ZoneInfo(calendar.time_zone)).date()
        current = selectors.business_date(currency=calendar.currency, at=now)
        if current != today:
            raise BusinessDateNotOpen(f"{calendar.currency}'s business date now is {current:%Y-%m-%d}, not today "
                                      f"({today:%Y-%m-%d}): today is no business day, past its cut-off or closed.")
        closure = EarlyClosure.objects.create(calendar=calendar, business_date=today, closed_at=now, by=actor.label,
                                              reason=reason.strip())
        audit_record(actor=actor, action="settlement.business_date_closed_early",
                     object_type="settlement.earlyclosure", object_id=str(closure.pk),
                     after={"currency": calendar.currency, "business_date": today.isoformat(),
                            "closed_at": now.isoformat()}, reason=reason)
    return closure
