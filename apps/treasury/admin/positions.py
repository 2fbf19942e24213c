"""Treasury's positions page and its low-liquidity alerts.

"Positions" is the changelist of a proxy of the nostros: per currency and nostro, the money at the
bank (the ledger), the payouts not yet left, the connector settlements expected and the closing
balance forecast for 7 business days; every role reads it. Low-liquidity alerts are raised and
cleared by the 15-minute check; a treasury operator acknowledges one, with a reason.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin import reasoned_action
from apps.core.admin_money import MoneyAdminMixin
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.money import Money
from apps.treasury import forecast
from apps.treasury.models import LiquidityAlert, Position
from apps.treasury.selectors import positions as positions_selectors
from apps.treasury.services import positions as positions_services


@dataclass(frozen=True)
class _Row:
    """One line of the positions table, as the page prints it (money already formatted)."""

    name: str
    column: str  # its heading in the forecast table
    css: str
    ledger_balance: str
    payouts_due: str
    expected_in: str
    threshold: str
    days: list[tuple[str, bool]]  # each day's closing forecast, and whether it is below zero or the threshold


def _money(amount: int | None, currency: str) -> str:
    return "—" if amount is None else Money(amount, currency).format()


def _rows(currency: positions_selectors.CurrencyPosition) -> list[_Row]:
    code = currency.currency
    rows = [
        _Row(name=f"{nostro.code}{' (pays out)' if nostro.pays_out else ''} — {nostro.bank_name}",
             column=nostro.code, css=f"nostro-{nostro.code}", ledger_balance=_money(nostro.ledger_balance, code),
             payouts_due=_money(nostro.payouts_due, code), expected_in=_money(nostro.expected_in, code),
             threshold=_money(nostro.threshold, code),
             days=[(_money(day.closing, code), day.closing < 0 or (nostro.threshold is not None
                                                                  and day.closing < nostro.threshold))
                   for day in nostro.days])
        for nostro in currency.nostros
    ]
    rows.append(_Row(name=f"All {code} nostros", column=f"All {code}", css=f"total-{code}",
                     ledger_balance=_money(currency.ledger_balance, code),
                     payouts_due=_money(currency.payouts_due, code), expected_in=_money(currency.expected_in, code),
                     threshold="", days=[(_money(day.closing, code), day.closing < 0) for day in currency.days]))
    return rows


def _flows(currency: positions_selectors.CurrencyPosition) -> list[dict[str, str]]:
    flows = [(nostro.code, flow) for nostro in currency.nostros for flow in nostro.flows]
    flows += [("unassigned", flow) for flow in currency.unassigned]
    return [{"nostro": code, "date": f"{flow.date:%a %d %b}", "kind": forecast.KIND_LABELS.get(flow.kind, flow.kind),
             "label": flow.label, "amount": _money(flow.amount, flow.currency)}
            for code, flow in sorted(flows, key=lambda item: (item[1].date, item[0], item[1].kind))]


@admin.register(Position)
class PositionAdmin(ReadOnlyModelAdmin):
    """The positions page (the list); a nostro's own page is read-only here (its threshold is changed
    under Nostro accounts)."""

    list_display = ["code", "currency", "bank_name"]
    fields = ["code", "currency", "bank_name", "iban", "pays_out", "low_liquidity_threshold"]
    readonly_fields = fields

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)  # refused as Django refuses
        if request.method == "POST":  # the page has no actions: nothing is posted to it
            return HttpResponseRedirect(request.path)
        try:
            positions = positions_selectors.positions()
        except forecast.NoBusinessCalendar as missing:
            positions, unavailable = None, str(missing)
        else:
            unavailable = ""
        currencies = []
        for currency in positions.currencies if positions else ():
            rows = _rows(currency)
            # The forecast reads down the days (one row each), a column per nostro: it fits any screen.
            forecast_rows = [(f"{day.date:%a %d %b}", [row.days[index] for row in rows])
                             for index, day in enumerate(currency.days)]
            currencies.append({"currency": currency.currency, "rows": rows, "forecast": forecast_rows,
                               "flows": _flows(currency)})
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Positions",
                "currencies": currencies, "unavailable": unavailable, "at": positions.at if positions else None,
                "open_alerts": positions_selectors.liquidity_alerts_open()}
        return TemplateResponse(request, "admin/treasury/positions.html", page)


def _acknowledge(request: HttpRequest, alert: LiquidityAlert, reason: str) -> None:
    positions_services.liquidity_alert_acknowledge(alert_id=alert.pk, actor=Actor.staff(request.user), reason=reason)


@admin.register(LiquidityAlert)
class LiquidityAlertAdmin(CsvExportMixin, MoneyAdminMixin, admin.ModelAdmin):
    """Raised and cleared by the check only; a treasury operator acknowledges one, with a reason."""

    money_fields = {"forecast_balance": "currency", "threshold": "currency"}
    list_display = ["nostro", "currency", "forecast_date", "forecast_balance_money", "threshold_money", "raised_at",
                    "cleared_at", "acknowledged_by", "acknowledged_at"]
    list_select_related = ["nostro"]
    list_filter = [("cleared_at", admin.EmptyFieldListFilter), "currency", "nostro"]
    fields = ["nostro", "currency", "forecast_date", "forecast_balance_money", "threshold_money", "raised_at",
              "cleared_at", "acknowledged_by", "acknowledged_at", "acknowledgement"]
    readonly_fields = fields
    actions = [reasoned_action(description="Acknowledge the alert", perform=_acknowledge,
                               permissions=("acknowledge",))]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("treasury.change_liquidityalert")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing on an alert is typed by hand: the action acknowledges it

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
