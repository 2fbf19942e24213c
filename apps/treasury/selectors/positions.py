"""Positions: per currency and nostro, the money at the bank as the ledger has it, the payouts not
yet left, the connector settlements expected in, and the closing balance forecast for each of the
next 7 business days.

The ledger balance is the nostro's posted money (debits - credits: a nostro is debited when money
arrives at the bank). The flows come from the sources the apps above register
(:mod:`apps.treasury.forecast`) and from the ledger itself: each live connector clearing account's
posted balance (debits - credits, what the connector owes fincore) arrives at the currency's
payout nostro on the next business day. A flow naming no nostro goes to the currency's payout
nostro; one naming none of fincore's nostros is shown as unassigned in the currency's totals.
"""

from dataclasses import dataclass
from datetime import date, datetime

from apps.core import clock
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.routing import selectors as routing_selectors
from apps.treasury import forecast
from apps.treasury.forecast import ExpectedFlow
from apps.treasury.models import LiquidityAlert, NostroAccount

FORECAST_DAYS = 7


@dataclass(frozen=True, slots=True)
class ForecastDay:
    date: date
    flows_in: int  # minor units expected in that day
    flows_out: int  # minor units expected out that day (non-negative)
    closing: int  # the forecast balance at the end of the day (may be below zero)


@dataclass(frozen=True, slots=True)
class NostroPosition:
    code: str
    currency: str
    bank_name: str
    pays_out: bool
    ledger_balance: int
    payouts_due: int  # payouts not yet left it, within the window (non-negative)
    expected_in: int  # connector settlements expected into it, within the window
    threshold: int | None
    days: tuple[ForecastDay, ...]
    flows: tuple[ExpectedFlow, ...]

    @property
    def lowest(self) -> ForecastDay:
        return min(self.days, key=lambda day: (day.closing, day.date))

    @property
    def first_below_threshold(self) -> ForecastDay | None:
        """The first business date whose closing forecast is below the threshold, if any."""
        if self.threshold is None:
            return None
        return next((day for day in self.days if day.closing < self.threshold), None)


@dataclass(frozen=True, slots=True)
class CurrencyPosition:
    currency: str
    nostros: tuple[NostroPosition, ...]
    unassigned: tuple[ExpectedFlow, ...]  # flows naming no nostro fincore has in the currency
    days: tuple[ForecastDay, ...]  # the nostros' and the unassigned flows' sum

    @property
    def ledger_balance(self) -> int:
        return sum(nostro.ledger_balance for nostro in self.nostros)

    @property
    def payouts_due(self) -> int:
        return sum(nostro.payouts_due for nostro in self.nostros) - sum(
            flow.amount for flow in self.unassigned if flow.amount < 0)

    @property
    def expected_in(self) -> int:
        return sum(nostro.expected_in for nostro in self.nostros) + sum(
            flow.amount for flow in self.unassigned if flow.amount > 0)


@dataclass(frozen=True, slots=True)
class Positions:
    at: datetime
    currencies: tuple[CurrencyPosition, ...]

    def nostro(self, code: str) -> NostroPosition | None:
        return next((nostro for currency in self.currencies for nostro in currency.nostros if nostro.code == code),
                    None)


def _nostro_balance(code: str, currency: str) -> int:
    balances = ledger_selectors.role_account_balances(ref=AccountRef(AccountRole.NOSTRO, currency, True, name=code))
    return balances.debits_posted - balances.credits_posted


def connector_settlements(*, currency: str, on: date) -> list[ExpectedFlow]:
    """What each connector owes fincore in ``currency`` (its live clearing account's posted debits -
    credits), expected at the payout nostro on ``on``; a connector fincore owes is money out."""
    flows = []
    for name in routing_selectors.connector_names():
        balances = ledger_selectors.role_account_balances(
            ref=AccountRef(AccountRole.CONNECTOR_CLEARING, currency, True, name=name))
        owed = balances.debits_posted - balances.credits_posted
        if owed:
            flows.append(ExpectedFlow(nostro_code=None, currency=currency, date=on, amount=owed,
                                      kind=forecast.CONNECTOR_SETTLEMENT, label=name))
    return flows


def _days(balance: int, flows: list[ExpectedFlow], dates: list[date]) -> tuple[ForecastDay, ...]:
    days, closing = [], balance
    for day in dates:
        flows_in = sum(flow.amount for flow in flows if flow.date == day and flow.amount > 0)
        flows_out = -sum(flow.amount for flow in flows if flow.date == day and flow.amount < 0)
        closing += flows_in - flows_out
        days.append(ForecastDay(date=day, flows_in=flows_in, flows_out=flows_out, closing=closing))
    return tuple(days)


def _currency_position(currency: str, accounts: list[NostroAccount], at: datetime) -> CurrencyPosition:
    dates = forecast.business_days(currency, at, FORECAST_DAYS)
    flows = [flow for source in forecast.flow_sources() for flow in source(currency, dates[0], dates[-1])]
    flows += connector_settlements(currency=currency, on=dates[1] if len(dates) > 1 else dates[0])
    # Only flows inside the window count; a source's overdue flow is already dated on its first day.
    flows = [flow for flow in flows if dates[0] <= flow.date <= dates[-1]]
    payout_nostro = next((account.code for account in accounts if account.pays_out), None)
    by_nostro: dict[str | None, list[ExpectedFlow]] = {}
    codes = {account.code for account in accounts}
    for flow in flows:
        code = flow.nostro_code or payout_nostro
        by_nostro.setdefault(code if code in codes else None, []).append(flow)
    nostros = []
    for account in accounts:
        own = sorted(by_nostro.get(account.code, []), key=lambda flow: (flow.date, flow.kind, flow.label))
        balance = _nostro_balance(account.code, currency)
        nostros.append(NostroPosition(
            code=account.code, currency=currency, bank_name=account.bank_name, pays_out=account.pays_out,
            ledger_balance=balance, payouts_due=-sum(flow.amount for flow in own if flow.amount < 0),
            expected_in=sum(flow.amount for flow in own if flow.amount > 0),
            threshold=account.low_liquidity_threshold, days=_days(balance, own, dates), flows=tuple(own)))
    unassigned = tuple(by_nostro.get(None, []))
    total = _days(sum(nostro.ledger_balance for nostro in nostros), flows, dates)
    return CurrencyPosition(currency=currency, nostros=tuple(nostros), unassigned=unassigned, days=total)


def positions(*, at: datetime | None = None, currency: str | None = None) -> Positions:
    """Every nostro's position now (or at ``at``), grouped by currency. Raises
    forecast.NoBusinessCalendar when a currency has no business calendar."""
    at = at or clock.now()
    accounts = NostroAccount.objects.order_by("currency", "code")
    if currency is not None:
        accounts = accounts.filter(currency=currency)
    grouped: dict[str, list[NostroAccount]] = {}
    for account in accounts:
        grouped.setdefault(account.currency, []).append(account)
    return Positions(at=at, currencies=tuple(_currency_position(code, found, at) for code, found in grouped.items()))


@dataclass(frozen=True, slots=True)
class OpenLiquidityAlert:
    id: str
    nostro_code: str
    currency: str
    forecast_date: date
    forecast_balance: int
    threshold: int
    raised_at: datetime
    acknowledged_by: str


def liquidity_alerts_open() -> list[OpenLiquidityAlert]:
    """The low-liquidity alerts not cleared yet, the soonest crossing first."""
    return [
        OpenLiquidityAlert(id=str(alert.pk), nostro_code=alert.nostro.code, currency=alert.currency,
                           forecast_date=alert.forecast_date, forecast_balance=alert.forecast_balance,
                           threshold=alert.threshold, raised_at=alert.raised_at, acknowledged_by=alert.acknowledged_by)
        for alert in LiquidityAlert.objects.filter(cleared_at__isnull=True).select_related("nostro")
        .order_by("forecast_date", "nostro__code")
    ]
