"""Settlement's refusals (problem codes for the API and the admin): the business calendar, prices
and terms, runs, payout files and the ISO 20022 files they are written and read as."""

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


class NoPayoutNostro(FincoreError):
    code = "payout_nostro_missing"
    title = "No nostro account pays out this currency"
    status = 409


class StatusReportRefused(FincoreError):
    code = "status_report_refused"
    title = "The payment status report does not answer a file fincore sent"
    status = 422
# --- ISO 20022 payout files (apps/settlement/adapters): a file fincore would write wrongly, or one
# it was given and cannot read, is refused whole; nothing is released and nothing changes.


class CreditTransferFileRefused(FincoreError):
    """A pain.001 credit-transfer file could not be written from these payouts: no file exists."""

    code = "credit_transfer_file_refused"
    title = "The credit transfer file could not be written"
    status = 422


class CreditTransferFileEmpty(CreditTransferFileRefused):
    """A credit-transfer file needs at least one transfer (the schema's PmtInf holds one or more)."""

    code = "credit_transfer_file_empty"
    title = "A credit transfer file needs at least one transfer"


class CreditTransferFileMixedCurrencies(CreditTransferFileRefused):
    """One file carries one currency: its control sum adds amounts, which only one currency can."""

    code = "credit_transfer_file_mixed_currencies"
    title = "A credit transfer file carries one currency"

    def __init__(self, detail: str | None = None, *, currencies: tuple[str, ...]) -> None:
        self.currencies = currencies
        super().__init__(
            detail or f"The transfers are in {', '.join(currencies)}; write one file per currency.",
            currencies=list(currencies),
        )


class CreditTransferFieldInvalid(CreditTransferFileRefused):
    """One field of the file cannot be written as it is: an identifier too long or empty, a character
    XML 1.0 cannot carry, an IBAN or BIC that is not one, an amount that is not a positive whole
    number of minor units, a naive date-time, an end-to-end id used twice."""

    code = "credit_transfer_field_invalid"
    title = "A field of the credit transfer file is invalid"

    def __init__(self, detail: str | None = None, *, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(detail or f"{field}: {reason}", field=field, reason=reason)


class Iso20022Refused(FincoreError):
    """An ISO 20022 file was refused. ``line`` is where in the file (1-based; None when the
    file has no line to point at) and ``reason`` says what is wrong there."""

    code = "iso20022_refused"
    title = "The ISO 20022 file was refused"
    status = 422

    def __init__(self, detail: str | None = None, *, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        where = f"line {line}: " if line is not None else ""
        super().__init__(detail or f"{where}{reason}", line=line, reason=reason)


class Iso20022Malformed(Iso20022Refused):
    """Not well-formed XML, or XML fincore does not read: a document type declaration (which
    could declare entities to expand or fetch) has no place in an ISO 20022 file."""

    code = "iso20022_malformed"
    title = "The file is not XML fincore can read"


class Iso20022WrongMessage(Iso20022Refused):
    """Well-formed XML, but not the ISO 20022 message expected; ``found`` names what it is."""

    code = "iso20022_wrong_message"
    title = "The file is not the ISO 20022 message expected"

    def __init__(self, detail: str | None = None, *, line: int | None, reason: str, expected: str, found: str) -> None:
        self.expected = expected
        self.found = found
        super().__init__(detail, line=line, reason=reason)
        self.extensions.update(expected=expected, found=found)


class Iso20022Invalid(Iso20022Refused):
    """The message does not conform to its official XSD (the first error the schema finds)."""

    code = "iso20022_invalid"
    title = "The file does not conform to its ISO 20022 schema"


class PaymentStatusReportUnusable(Iso20022Refused):
    """A pain.002 the schema accepts but fincore cannot apply: a transaction without the
    end-to-end id payouts are matched by, one with no status at any level, the same end-to-end
    id twice, or a date-time Python cannot hold."""

    code = "payment_status_report_unusable"
    title = "The payment status report cannot be applied"
