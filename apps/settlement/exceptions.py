"""Settlement's refusals: the business calendar, prices and terms, and runs (problem codes for the
API and the admin)."""

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


class FeePlanUnknown(FincoreError):
    code = "fee_plan_unknown"
    title = "There is no fee plan with this code"
    status = 404


class SettlementMerchantUnknown(FincoreError):
    code = "settlement_merchant_unknown"
    title = "There is no such merchant"
    status = 404


class FeeChangeInvalid(FincoreError):
    code = "fee_change_invalid"
    title = "The fee plan or terms change has values the fee rules refuse"
    status = 422


class FeeChangeRefused(FincoreError):
    code = "fee_change_refused"
    title = "The fee plan or terms change was refused"
    status = 409


class EffectiveDateRefused(FincoreError):
    code = "fee_change_effective_date_refused"
    title = "A price or term takes effect from a business date not settled yet"
    status = 409


class SettlementRunUnknown(FincoreError):
    code = "settlement_run_unknown"
    title = "There is no such settlement run"
    status = 404


class SettlementRunNotResumable(FincoreError):
    code = "settlement_run_not_resumable"
    title = "Only a failed settlement run can be resumed"
    status = 409


class RunResumeReasonRequired(FincoreError):
    code = "settlement_run_resume_reason_required"
    title = "Resuming a settlement run needs a reason"
    status = 400
