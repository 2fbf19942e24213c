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
    "business_date_close_early",
    "holiday_add",
    "holiday_change_check",
    "holiday_move",
    "holiday_remove",
    "line_public_id",
    "run_public_id",
    "run_summary",
    "settlement_run",
    "settlement_runs_due",
]
