from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "apps.settlement"
    label = "settlement"
    verbose_name = "Settlement"

    def ready(self) -> None:
        register_sensitive_actions()
        register_treasury_forecast()
        register_sweep_file_writer()


def register_sweep_file_writer() -> None:
    """Treasury's sweeps leave as pain.001 files from settlement's writer (treasury cannot import it)."""
    from apps.settlement.services.sweep_files import sweep_file_write
    from apps.treasury.services.sweeps import sweep_file_writer_register

    sweep_file_writer_register(sweep_file_write)


def register_sensitive_actions() -> None:
    """Adding, moving (an estimated Eid, once announced) and removing a holiday need a second person:
    the business calendar decides which day's settlement every payment belongs to. So do changes of
    prices and terms (a new fee plan, a plan's line, a merchant's plan, reserve and payout minimum):
    they decide what every merchant is paid."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import sensitive_action_register
    from apps.settlement import services

    def holiday_change(action: str) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            change = services.holiday_change_check(action, dict(arguments))
            if change.holiday is not None:
                return Target("settlement.holiday", str(change.holiday.pk), change.label)
            return Target("settlement.businesscalendar", str(change.calendar.pk), change.label)

        return describe

    permission = "settlement.request_holiday_change"
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_ADD, label="Add a holiday", service=services.holiday_add,
        describe=holiday_change(services.HOLIDAY_ADD), permission=permission,
    ))
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_MOVE, label="Move a holiday", service=services.holiday_move,
        describe=holiday_change(services.HOLIDAY_MOVE), permission=permission,
    ))
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_REMOVE, label="Remove a holiday", service=services.holiday_remove,
        describe=holiday_change(services.HOLIDAY_REMOVE), permission=permission,
    ))

    def fee_change(action: str) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            change = services.fee_change_check(action, arguments)
            return Target(change.object_type, change.object_id, change.label, change.merchant_id)

        return describe

    permission = "settlement.request_fee_change"
    for name, label, service in (
        (services.FEE_PLAN_CREATE, "Create a fee plan", services.fee_plan_create),
        (services.FEE_PLAN_LINE_SET, "Set a fee plan's price from a business date", services.fee_plan_line_set),
        (services.MERCHANT_FEE_PLAN_SET, "Put a merchant on a fee plan from a business date",
         services.merchant_fee_plan_set),
        (services.TERMS_SET, "Set reserve and payout minimum from a business date", services.terms_set),
    ):
        sensitive_action_register(SensitiveAction(name=name, label=label, service=service,
                                                  describe=fee_change(name), permission=permission))


def register_treasury_forecast() -> None:
    """Treasury (below settlement) forecasts its nostros on settlement's business calendar and from
    the payouts not yet left: hand it both. A pending payout leaves on the business date its hold
    passes (the next payout file of that date takes it); one sent in a file leaves as soon as the
    bank books it: on the window's first day."""
    from datetime import date, datetime

    from apps.core import clock
    from apps.payments import selectors as payments_selectors
    from apps.settlement import selectors
    from apps.settlement.domain import calendar as business_calendar
    from apps.settlement.exceptions import UnknownCalendar
    from apps.treasury import forecast

    def business_days(currency: str, at: datetime, count: int) -> list[date]:
        try:
            calendar = selectors.calendar_get(currency)
        except UnknownCalendar as unknown:
            raise forecast.NoBusinessCalendar(str(unknown)) from unknown
        days = [business_calendar.business_date(calendar, at)]
        while len(days) < count:
            days.append(business_calendar.next_business_date(calendar, days[-1]))
        return days

    def payouts_not_left(currency: str, start: date, end: date) -> list[forecast.ExpectedFlow]:
        calendar, now = selectors.calendar_get(currency), clock.now()
        totals: dict[tuple[str | None, date, str], tuple[int, int]] = {}
        for payout in payments_selectors.payouts_not_left(currency=currency, livemode=True):
            if payout.status == "pending":
                key = (None, max(start, business_calendar.business_date(calendar, max(now, payout.hold_until))),
                       forecast.PAYOUT_SCHEDULED)
            else:
                key = (payout.nostro or None, start, forecast.PAYOUT_SENT)
            if key[1] > end:
                continue
            count, amount = totals.get(key, (0, 0))
            totals[key] = (count + 1, amount + payout.amount)
        return [
            forecast.ExpectedFlow(nostro_code=nostro_code, currency=currency, date=day, amount=-amount, kind=kind,
                                  label=f"{count} payout{'s' if count != 1 else ''}")
            for (nostro_code, day, kind), (count, amount) in sorted(totals.items(), key=lambda item: item[0][1:])
        ]

    forecast.business_days_register(business_days)
    forecast.flow_source_register("settlement.payouts_not_left", payouts_not_left)
