"""Every write of settlement; each function owns its transaction (see each module)."""

from apps.settlement.services.calendar import (
    HOLIDAY_ADD,
    HOLIDAY_MOVE,
    HOLIDAY_REMOVE,
    HolidayChange,
    business_date_close_early,
    holiday_add,
    holiday_change_check,
    holiday_move,
    holiday_remove,
)
from apps.settlement.services.fee_plans import (
    FEE_PLAN_CREATE,
    FEE_PLAN_LINE_SET,
    MERCHANT_FEE_PLAN_SET,
    TERMS_SET,
    FeeChange,
    fee_change_check,
    fee_plan_create,
    fee_plan_line_set,
    merchant_fee_plan_set,
    terms_set,
)
from apps.settlement.services.payout_files import (
    StatusReportImport,
    payout_file_create,
    payout_file_public_id,
    payout_files_due,
    status_report_import,
)
from apps.settlement.services.run_resume import settlement_run_resume_request
from apps.settlement.services.runs import (
    line_public_id,
    run_public_id,
    run_summary,
    settlement_run,
    settlement_runs_due,
)

__all__ = [
    "FEE_PLAN_CREATE",
    "FEE_PLAN_LINE_SET",
    "HOLIDAY_ADD",
    "HOLIDAY_MOVE",
    "HOLIDAY_REMOVE",
    "MERCHANT_FEE_PLAN_SET",
    "TERMS_SET",
    "FeeChange",
    "HolidayChange",
    "StatusReportImport",
    "business_date_close_early",
    "fee_change_check",
    "fee_plan_create",
    "fee_plan_line_set",
    "holiday_add",
    "holiday_change_check",
    "holiday_move",
    "holiday_remove",
    "line_public_id",
    "merchant_fee_plan_set",
    "payout_file_create",
    "payout_file_public_id",
    "payout_files_due",
    "run_public_id",
    "run_summary",
    "settlement_run",
    "settlement_run_resume_request",
    "settlement_runs_due",
    "status_report_import",
    "terms_set",
]
