"""Reads of settlement: the business calendar (a currency's calendar as the domain sees it, and the
business dates and cut-offs it gives; ``clock`` is the one source of "now"), the prices and terms
in force on a business date, the runs, and what a merchant reads of them (its settlement lines,
each line's report rows, its fee plan). A merchant's reads always take its id and mode."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet, Sum

from apps.core import clock, ids
from apps.core.money import Money
from apps.payments import selectors as payments_selectors
from apps.payments.data import CapturePrice, SucceededRefund
from apps.settlement.domain import calendar as business_calendar
from apps.settlement.domain import fees
from apps.settlement.exceptions import SettlementUnpriced, UnknownCalendar
from apps.settlement.models import (
    EVERY_METHOD,
    BusinessCalendar,
    FeePlan,
    FeePlanLine,
    MerchantFeePlan,
    SettlementLine,
    SettlementRun,
    SettlementTerms,
)


@dataclass(frozen=True, slots=True)
class BusinessDay:
    """Where ``at`` stands: its business date, when that date closes, and the date after it."""

    currency: str
    at: datetime
    business_date: date
    cutoff_at: datetime
    next_business_date: date
    time_zone: str


def calendar_get(currency: str) -> business_calendar.Calendar:
    """``currency``'s calendar with all its holidays and early closures (a few hundred rows: two
    queries). Raises UnknownCalendar."""
    found = BusinessCalendar.objects.filter(currency=currency.upper()).first()
    if found is None:
        raise UnknownCalendar(f"There is no business calendar for {currency}.")
    return _calendar(found, holidays=found.holidays.values_list("date", flat=True),
                     early_closures=found.early_closures.values_list("business_date", "closed_at"))


def _calendar(found: BusinessCalendar, *, holidays: Iterable[date],
              early_closures: Iterable[tuple[date, datetime]]) -> business_calendar.Calendar:
    return business_calendar.Calendar(time_zone=found.time_zone, weekend=frozenset(found.weekend_days),
                                      cutoff=found.cutoff, holidays=frozenset(holidays),
                                      early_closures=dict(early_closures))


def business_date(*, currency: str, at: datetime | None = None) -> date:
    """The business date ``at`` (default now) belongs to in ``currency``. Raises UnknownCalendar."""
    return business_calendar.business_date(calendar_get(currency), at or clock.now())


def cutoff_at(*, currency: str, business_date: date) -> datetime:
    """The instant ``business_date`` closes in ``currency``. Raises UnknownCalendar."""
    return business_calendar.cutoff_at(calendar_get(currency), business_date)


def next_business_date(*, currency: str, after: date) -> date:
    """The first business date after ``after`` in ``currency``. Raises UnknownCalendar."""
    return business_calendar.next_business_date(calendar_get(currency), after)


def business_dates(*, currency: str, start: date, end: date) -> list[date]:
    """``currency``'s business dates from ``start`` to ``end``, both included. Raises UnknownCalendar."""
    return list(business_calendar.business_dates(calendar_get(currency), start, end))


def business_day(*, currency: str, at: datetime | None = None) -> BusinessDay:
    """Today's (or ``at``'s) business date, its cut-off and the next business date, from one read
    of the calendar. Raises UnknownCalendar."""
    calendar, at = calendar_get(currency), at or clock.now()
    today = business_calendar.business_date(calendar, at)
    return BusinessDay(
        currency=currency.upper(), at=at, business_date=today, cutoff_at=business_calendar.cutoff_at(calendar, today),
        next_business_date=business_calendar.next_business_date(calendar, today), time_zone=calendar.time_zone,
    )


# --- prices and terms --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedMethod:
    """The fee plan line that prices a merchant's payments of one method on a business date."""

    method: str
    plan: str
    line_id: UUID
    effective_from: date
    schedule: fees.FeeScheduleLine

    def as_record(self) -> dict[str, Any]:
        """As a settlement line keeps it (JSON): enough to price its payments again."""
        line = self.schedule
        return {"plan": self.plan, "line": str(self.line_id), "effective_from": self.effective_from.isoformat(),
                "percent": str(line.percent), "fixed": line.fixed, "minimum": line.minimum, "maximum": line.maximum,
                "rounding": line.rounding, "refund_returns_percentage": line.refund_returns_percentage}


@dataclass(frozen=True, slots=True)
class Terms:
    reserve_percent: Decimal
    reserve_days: int
    payout_minimum: int


PAYMENT_METHODS = ("card", "instant", "wire", "wallet")


def _effective(rows: list[Any], day: date) -> Any | None:
    """The row in force on ``day``: the latest to start on or before it."""
    started = [row for row in rows if row.effective_from <= day]
    return max(started, key=lambda row: row.effective_from) if started else None


def _plan_prices(plan: FeePlan, lines: list[FeePlanLine], day: date) -> dict[str, PricedMethod]:
    by_method: dict[str, list[FeePlanLine]] = {}
    for line in lines:
        by_method.setdefault(line.method, []).append(line)
    priced = {}
    for method in PAYMENT_METHODS:
        line = _effective(by_method.get(method, []), day) or _effective(by_method.get(EVERY_METHOD, []), day)
        if line is not None:
            priced[method] = PricedMethod(method, plan.code, line.pk, line.effective_from, fees.FeeScheduleLine(
                currency=line.currency, percent=line.percent, fixed=line.fixed, minimum=line.minimum,
                maximum=line.maximum, rounding=plan.rounding, refund_returns_percentage=plan.refund_returns_percentage,
            ))
    return priced


@dataclass(frozen=True, slots=True)
class _PriceRows:
    """The rows that price merchants in one currency, read once and resolved for any date in memory."""

    plans: dict[UUID, FeePlan]
    lines: dict[UUID, list[FeePlanLine]]  # by plan
    assignments: dict[UUID, list[MerchantFeePlan]]  # by merchant
    terms: dict[UUID | None, list[SettlementTerms]]  # by merchant; None: every merchant's

    def schedules_on(self, merchant_ids: list[UUID], day: date) -> dict[UUID, dict[str, PricedMethod]]:
        default = next((plan for plan in self.plans.values() if plan.is_default), None)
        default_prices = _plan_prices(default, self.lines.get(default.pk, []), day) if default else {}
        cache: dict[UUID, dict[str, PricedMethod]] = {}
        schedules = {}
        for merchant_id in merchant_ids:
            assignment = _effective(self.assignments.get(merchant_id, []), day)
            if assignment is None or default is None or assignment.plan_id == default.pk:
                schedules[merchant_id] = default_prices
                continue
            if assignment.plan_id not in cache:
                plan = self.plans[assignment.plan_id]
                cache[plan.pk] = {**default_prices, **_plan_prices(plan, self.lines.get(plan.pk, []), day)}
            schedules[merchant_id] = cache[assignment.plan_id]
        return schedules

    def terms_on(self, merchant_ids: list[UUID], day: date) -> dict[UUID, Terms]:
        every = _effective(self.terms.get(None, []), day)
        found = {}
        for merchant_id in merchant_ids:
            row = _effective(self.terms.get(merchant_id, []), day) or every
            found[merchant_id] = (Terms(row.reserve_percent, row.reserve_days, row.payout_minimum) if row
                                  else Terms(Decimal(0), 0, 0))
        return found


def _by(rows: Iterable[Any], key: str) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _price_rows(*, merchant_ids: list[UUID], currency: str, until: date | None, prices: bool = True,
                terms: bool = False) -> _PriceRows:
    """What prices the merchants in ``currency``, from before ``until`` included (every date when
    None): with ``prices`` the plans, the currency's plan lines and the merchants' plans (three
    queries); with ``terms`` their own and every merchant's terms (one query)."""
    started = {"effective_from__lte": until} if until is not None else {}
    if not prices:
        plans, lines, assignments = {}, {}, {}
    else:
        plans = {plan.pk: plan for plan in FeePlan.objects.all()}
        lines = _by(FeePlanLine.objects.filter(currency=currency, **started), "plan_id")
        assignments = _by(MerchantFeePlan.objects.filter(merchant_id__in=merchant_ids, **started), "merchant_id")
    found_terms = _by(SettlementTerms.objects.filter(Q(merchant_id__in=merchant_ids) | Q(merchant__isnull=True),
                                                     currency=currency, **started), "merchant_id") if terms else {}
    return _PriceRows(plans=plans, lines=lines, assignments=assignments, terms=found_terms)


def fee_schedules(*, merchant_ids: Iterable[UUID], currency: str,
                  business_date: date) -> dict[UUID, dict[str, PricedMethod]]:
    """For each merchant, the price of each payment method in ``currency`` on ``business_date``: its
    own plan's line where it has one, the default plan's otherwise. A method no plan prices is
    missing from the merchant's prices. Three queries, whatever the number of merchants."""
    merchant_ids = list(merchant_ids)
    rows = _price_rows(merchant_ids=merchant_ids, currency=currency, until=business_date)
    return rows.schedules_on(merchant_ids, business_date)


def settlement_terms(*, merchant_ids: Iterable[UUID], currency: str, business_date: date) -> dict[UUID, Terms]:
    """For each merchant, its reserve and payout minimum in ``currency`` on ``business_date``: its
    own terms where it has them, every merchant's otherwise, none at all (no reserve, no minimum)
    when neither exists."""
    merchant_ids = list(merchant_ids)
    rows = _price_rows(merchant_ids=merchant_ids, currency=currency, until=business_date, prices=False, terms=True)
    return rows.terms_on(merchant_ids, business_date)


def calendar_currencies() -> list[str]:
    return list(BusinessCalendar.objects.order_by("currency").values_list("currency", flat=True))


def last_closed_business_date(*, currency: str, at: datetime | None = None) -> date:
    """The latest business date of ``currency`` closed by ``at`` (default now): the one before the
    business date ``at`` belongs to."""
    calendar = calendar_get(currency)
    today = business_calendar.business_date(calendar, at or clock.now())
    return business_calendar.previous_business_date(calendar, today)


def refund_fee_returns(*, refunds: list[SucceededRefund], currency: str,
                       calendar: business_calendar.Calendar | None = None) -> dict[UUID, fees.FeeReturn]:
    """The fee each refund gives back, priced as its payment was: by the fee plan line in force on
    the business date the payment was captured in (not today's price, nor the refund's date's).
    The run posts these and a settlement report shows them, so both read them here. One read of
    the prices (three queries), however many business dates the payments refunded were captured
    on. Raises SettlementUnpriced."""
    if not refunds:
        return {}
    calendar = calendar or calendar_get(currency)
    captured_on = {r.refund_id: business_calendar.business_date(calendar, r.payment_captured_at) for r in refunds}
    rows = _price_rows(merchant_ids=list({r.merchant_id for r in refunds}), currency=currency,
                       until=max(captured_on.values()))
    schedules = {
        day: rows.schedules_on([r.merchant_id for r in refunds if captured_on[r.refund_id] == day], day)
        for day in set(captured_on.values())
    }
    returns = {}
    for refund in refunds:
        priced = schedules[captured_on[refund.refund_id]].get(refund.merchant_id, {}).get(refund.payment_method)
        if priced is None:
            raise SettlementUnpriced(f"No fee plan priced {refund.payment_method} payments of "
                                     f"{ids.encode('mer', refund.merchant_id)} in {currency} on "
                                     f"{captured_on[refund.refund_id]}: refund {ids.encode('re', refund.refund_id)} "
                                     "cannot return its fee.")
        original = Money(refund.payment_amount_captured, currency)
        returns[refund.refund_id] = fees.refund_fee_return(
            priced.schedule, Money(refund.amount, currency), original, fees.payment_fee(priced.schedule, original),
            already_refunded=Money(refund.refunded_before, currency))
    return returns


# --- what a merchant reads: its settlement lines and their reports ---------------------------------


def settlement_line_list(*, merchant_id: UUID, livemode: bool, currency: str | None = None,
                         status: str | None = None, business_date_gte: date | None = None,
                         business_date_lte: date | None = None) -> QuerySet[SettlementLine]:
    """A merchant's settlement lines in one mode, each with its run (one query for a page)."""
    lines = SettlementLine.objects.filter(merchant_id=merchant_id, livemode=livemode).select_related("run")
    filters = {"currency": currency, "status": status, "business_date__gte": business_date_gte,
               "business_date__lte": business_date_lte}
    return lines.filter(**{name: value for name, value in filters.items() if value is not None})


def settlement_line_get(*, merchant_id: UUID, livemode: bool, line_id: UUID) -> SettlementLine | None:
    return settlement_line_list(merchant_id=merchant_id, livemode=livemode).filter(pk=line_id).first()


def line_prices(line: SettlementLine) -> list[CapturePrice]:
    """The prices a line's captures were charged, from the fee schedule the line keeps."""
    return [CapturePrice(merchant_id=line.merchant_id, method=method, percent=Decimal(price["percent"]),
                         fixed=price["fixed"], minimum=price["minimum"], maximum=price["maximum"],
                         rounding=price["rounding"])
            for method, price in sorted(line.fee_schedule.items())]


def line_captures(line: SettlementLine) -> Iterator[payments_selectors.CaptureFee]:
    """The captures a line settled, in capture order, each with the fee the run charged it (the
    line's own prices, rounded as the run rounded them: their fees add up to ``fees_charged``).
    Streamed from a server-side cursor: iterate it once, to the end or not at all."""
    return payments_selectors.capture_fees(merchant_id=line.merchant_id, livemode=line.livemode,
                                           currency=line.currency, start=line.run.period_start,
                                           end=line.run.period_end, prices=line_prices(line))


@dataclass(frozen=True, slots=True)
class LineRefund:
    """A refund a line counted, with the fee it gave back (``fee_returned_exact`` before rounding)."""

    refund_id: UUID
    payment_id: UUID
    method: str
    amount: int
    fee_returned: int
    fee_returned_exact: Decimal


def line_refunds(line: SettlementLine) -> list[LineRefund]:
    """The refunds a line counted, oldest first, each with the fee it returned (they add up to the
    line's ``refunds`` and ``fees_returned``). Loaded whole: a merchant's refunds of one business
    date, far fewer than its captures. Raises SettlementUnpriced (a price deleted since the run)."""
    period = line.run
    refunds = [refund for refund in payments_selectors.refunds_succeeded(
        currency=line.currency, start=period.period_start, end=period.period_end, merchant_ids=[line.merchant_id])
        if refund.livemode == line.livemode]
    returns = refund_fee_returns(refunds=refunds, currency=line.currency)
    return [LineRefund(refund_id=refund.refund_id, payment_id=refund.payment_id, method=refund.payment_method,
                       amount=refund.amount,
                       fee_returned=returns[refund.refund_id].returned,
                       fee_returned_exact=returns[refund.refund_id].exact_decimal)
            for refund in refunds]


# --- what a merchant reads: its fee plan -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceChange:
    """What a merchant will pay from ``effective_from`` on: every method's price and the terms."""

    effective_from: date
    prices: list[PricedMethod]
    terms: Terms


@dataclass(frozen=True, slots=True)
class CurrencyFeePlan:
    """A merchant's prices and terms in one currency on today's business date (none for a currency
    without a business calendar: fincore does not settle it), and the approved changes to come."""

    currency: str
    business_date: date | None
    prices: list[PricedMethod]
    terms: Terms | None
    upcoming: list[PriceChange]


def merchant_fee_plan(*, merchant_id: UUID, currencies: Iterable[str],
                      at: datetime | None = None) -> list[CurrencyFeePlan]:
    """What ``merchant_id`` pays in each of ``currencies``: the prices and terms in force on today's
    (``at``'s) business date, and every later date from which an approved row (a plan line, a
    merchant's plan, terms) changes them for this merchant. A row that does not change what this
    merchant pays (another plan's line) is no change to it. Each currency's rows are read once
    (six queries), however many changes are to come."""
    plans = []
    for currency in currencies:
        try:
            today = business_day(currency=currency, at=at).business_date
        except UnknownCalendar:
            plans.append(CurrencyFeePlan(currency=currency, business_date=None, prices=[], terms=None, upcoming=[]))
            continue
        rows = _price_rows(merchant_ids=[merchant_id], currency=currency, until=None, terms=True)
        prices, terms = current = _prices_and_terms(rows, merchant_id, today)
        upcoming = []
        for day in _later_starts(rows, today):
            later = _prices_and_terms(rows, merchant_id, day)
            if later != current:
                upcoming.append(PriceChange(effective_from=day, prices=later[0], terms=later[1]))
                current = later
        plans.append(CurrencyFeePlan(currency=currency, business_date=today, prices=prices, terms=terms,
                                     upcoming=upcoming))
    return plans


def _prices_and_terms(rows: _PriceRows, merchant_id: UUID, day: date) -> tuple[list[PricedMethod], Terms]:
    prices = rows.schedules_on([merchant_id], day)[merchant_id]
    terms = rows.terms_on([merchant_id], day)[merchant_id]
    return [prices[method] for method in PAYMENT_METHODS if method in prices], terms


def _later_starts(rows: _PriceRows, today: date) -> list[date]:
    """The dates after ``today`` from which a row that may concern the merchant takes effect."""
    loaded = [*(line for lines in rows.lines.values() for line in lines),
              *(row for assignments in rows.assignments.values() for row in assignments),
              *(row for terms in rows.terms.values() for row in terms)]
    return sorted({row.effective_from for row in loaded if row.effective_from > today})


# --- runs -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A currency's last closed business date, when it closed, and its run (None: not started)."""

    currency: str
    business_date: date
    closed_at: datetime
    run: SettlementRun | None


@dataclass(frozen=True, slots=True)
class SettlementOverview:
    """Where settlement stands: each currency's last closed business date and its run, and every
    failed run (of any date: a failed run waits for a person)."""

    days: list[ClosedDay]
    failed: list[SettlementRun]


def settlement_overview(*, at: datetime | None = None) -> SettlementOverview:
    """Each currency's last closed business date (as of ``at``, default now) with its run, and the
    failed runs. Four queries, whatever the number of currencies: the calendars with their
    holidays and early closures, then the runs."""
    at = at or clock.now()
    closed = []
    for found in BusinessCalendar.objects.order_by("currency").prefetch_related("holidays", "early_closures"):
        calendar = _calendar(found, holidays=(holiday.date for holiday in found.holidays.all()),
                             early_closures=((closure.business_date, closure.closed_at)
                                             for closure in found.early_closures.all()))
        day = business_calendar.previous_business_date(calendar, business_calendar.business_date(calendar, at))
        closed.append((found.currency, day, business_calendar.cutoff_at(calendar, day)))
    wanted = Q(status=SettlementRun.Status.FAILED)
    for currency, day, _ in closed:
        wanted |= Q(currency=currency, business_date=day)
    runs = list(SettlementRun.objects.filter(wanted).order_by("-business_date", "currency"))
    by_day = {(run.currency, run.business_date): run for run in runs}
    return SettlementOverview(
        days=[ClosedDay(currency, day, closed_at, by_day.get((currency, day))) for currency, day, closed_at in closed],
        failed=[run for run in runs if run.status == SettlementRun.Status.FAILED],
    )


@dataclass(frozen=True, slots=True)
class RunTotals:
    gross: int
    refunds: int
    fees: int
    reserve_held: int
    reserve_released: int
    net: int


def run_totals(run: SettlementRun) -> RunTotals:
    """The run's totals: as it wrote them when it completed, else the sum of the lines it has
    computed so far (one query)."""
    if run.status == SettlementRun.Status.COMPLETED:
        return RunTotals(run.gross, run.refunds, run.fees, run.reserve_held, run.reserve_released, run.net)
    sums = run.lines.aggregate(gross=Sum("gross"), refunds=Sum("refunds"), fees=Sum("fees"),
                               reserve_held=Sum("reserve_held"), reserve_released=Sum("reserve_released"),
                               net=Sum("net"))
    return RunTotals(**{field: value or 0 for field, value in sums.items()})
