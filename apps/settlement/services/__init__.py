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
from apps.settlement.services.payout_files import (
    StatusReportImport,
    payout_file_create,
    payout_file_public_id,
    payout_files_due,
    status_report_import,
)
from apps.settlement.services.runs import (
    line_public_id,
    run_public_id,
    run_summary,
    settlement_run,
    settlement_runs_due,
)

__all__ = [
    "HOLIDAY_ADD",
    "HOLIDAY_MOVE",
    "HOLIDAY_REMOVE",
    "HolidayChange",
    "StatusReportImport",
    "business_date_close_early",
    "holiday_add",
    "holiday_change_check",
    "holiday_move",
    "holiday_remove",
    "line_public_id",
    "payout_file_create",
    "payout_file_public_id",
    "payout_files_due",
    "run_public_id",
    "run_summary",
    "settlement_run",
    "settlement_runs_due",
    "status_report_import",
]
