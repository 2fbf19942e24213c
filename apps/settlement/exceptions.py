"""The business calendar's refusals (problem codes for the API and the admin)."""

from apps.core.exceptions import FincoreError


class UnknownCalendar(FincoreError):
    code = "business_calendar_unknown"
    title = "There is no business calendar for this currency"
    status = 404


class HolidayChangeRefused(FincoreError):
    code = "holiday_change_refused"
    title = "The holiday change was refused"
    status = 409
