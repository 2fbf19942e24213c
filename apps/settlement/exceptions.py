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


class BusinessDateNotOpen(FincoreError):
    code = "business_date_not_open"
    title = "Today is not an open business date"
    status = 409


class ReasonRequired(FincoreError):
    code = "calendar_change_reason_required"
    title = "A change to the business calendar needs a reason"
    status = 400


class NotABusinessDate(FincoreError):
    code = "not_a_business_date"
    title = "The date is not a business date"
    status = 409


class BusinessDateNotClosed(FincoreError):
    code = "business_date_not_closed"
    title = "The business date has not closed yet"
    status = 409


class SettlementUnpriced(FincoreError):
    code = "settlement_unpriced"
    title = "A payment method is not priced by any fee plan"
    status = 409


class NoPayoutNostro(FincoreError):
    code = "payout_nostro_missing"
    title = "No nostro account pays out this currency"
    status = 409


class StatusReportRefused(FincoreError):
    code = "status_report_refused"
    title = "The payment status report does not answer a file fincore sent"
    status = 422
