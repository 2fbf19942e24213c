"""What each dashboard tile reads and what it shows: one reader per tile, through the selectors of
the app that owns the data, returning a frozen dataclass the tile's template draws.

A reader's result is cached (``apps.ops.dashboard``), so it holds plain values and the links,
never an age or a colour: those depend on the moment the page is drawn, and each tile's
``state(now)`` works them out then ("ok", "warning", "alarm" or "unavailable").
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from apps.audit import selectors as audit_selectors
from apps.compliance import selectors as compliance_selectors
from apps.compliance.cases import selectors as case_selectors
from apps.compliance.data import Severity
from apps.core import clock
from apps.core.money import Money
from apps.events.outbox import selectors as outbox_selectors
from apps.ledger import selectors as ledger_selectors
from apps.ops import charts
from apps.payments import selectors as payment_selectors
from apps.reconciliation.selectors import breaks as break_selectors
from apps.reconciliation.selectors import proofs as proof_selectors
from apps.routing import selectors as routing_selectors
from apps.settlement import selectors as settlement_selectors
from apps.treasury.selectors import fx as fx_selectors
from apps.treasury.selectors import positions as treasury_positions_selectors

logger = logging.getLogger(__name__)

OK, WARNING, ALARM, UNAVAILABLE = "ok", "warning", "alarm", "unavailable"

# Beat starts a business date's run within five minutes of its cut-off, and a run takes minutes: one
# not started, or still running, this long after the cut-off is late (is beat running? a worker?).
SETTLEMENT_LATE_AFTER = timedelta(minutes=30)
# A verification older than this is as bad as a failed one: the nightly job did not run.
VERIFICATION_STALE_AFTER = timedelta(days=1)
# The outbox relays at once after commit and a sweep retries every few seconds: a message still
# unsent after this long means publishing is stuck.
OUTBOX_STUCK_AFTER = timedelta(minutes=5)
# Reading queue depths waits at most this long for RabbitMQ: the page must render without it.
BROKER_TIMEOUT_SECONDS = 1.0
WEEK_DAYS = 7


def _changelist(model: str, **filters: object) -> str:
    """The admin's list of ``model`` ("payments.payment"), filtered by the lookups given."""
    app_label, model_name = model.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def _money(amount: int, currency: str) -> str:
    return Money(amount, currency).format()


# --- payments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeLine:
    """One rail (payment method) in one currency and mode: today's and the 7 days' figures."""

    mode: str
    method: str
    currency: str
    today_count: int
    today_succeeded: int
    today_captured: str
    today_href: str
    week_count: int
    week_succeeded: int
    week_captured: str
    week_href: str


@dataclass(frozen=True)
class PaymentVolumeTile:
    today: date
    week_start: date
    href: str  # every payment created in the 7 days
    lines: tuple[VolumeLine, ...]
    charts: tuple[charts.BarChart, ...]

    def state(self, now: datetime) -> str:
        return OK


def payment_volume() -> PaymentVolumeTile:
    """Payments created today and in the 7 days up to now (local days, Asia/Bahrain), per mode,
    rail and currency: how many, how many succeeded and the amount captured; and a chart per
    currency of the amount captured each day."""
    today = timezone.localdate(clock.now(), timezone.get_default_timezone())
    week_start = today - timedelta(days=WEEK_DAYS - 1)
    since = {today: _local_midnight(today).isoformat(), week_start: _local_midnight(week_start).isoformat()}
    volumes = payment_selectors.payment_volume_by_day(since=_local_midnight(week_start),
                                                      tz=timezone.get_default_timezone())
    figures: dict[tuple[bool, str, str], dict[str, int]] = {}
    daily: dict[tuple[bool, str], dict[date, int]] = {}
    for volume in volumes:
        line = figures.setdefault((volume.livemode, volume.method, volume.currency), dict.fromkeys(
            ("today_count", "today_succeeded", "today_captured", "week_count", "week_succeeded", "week_captured"), 0))
        periods = ("today", "week") if volume.day == today else ("week",)
        for period in periods:
            line[f"{period}_count"] += volume.count
            line[f"{period}_succeeded"] += volume.succeeded
            line[f"{period}_captured"] += volume.captured
        days = daily.setdefault((volume.livemode, volume.currency), {})
        days[volume.day] = days.get(volume.day, 0) + volume.captured

    def href(livemode: bool, method: str, currency: str, day: date) -> str:
        return _changelist("payments.payment", livemode__exact=int(livemode), method__exact=method,
                           currency=currency, created_at__gte=since[day])

    lines = tuple(
        VolumeLine(
            mode=_mode(livemode), method=method, currency=currency,
            today_count=line["today_count"], today_succeeded=line["today_succeeded"],
            today_captured=_money(line["today_captured"], currency), today_href=href(livemode, method, currency, today),
            week_count=line["week_count"], week_succeeded=line["week_succeeded"],
            week_captured=_money(line["week_captured"], currency),
            week_href=href(livemode, method, currency, week_start),
        )
        for (livemode, method, currency), line in sorted(figures.items(), key=lambda item: (not item[0][0], item[0]))
    )
    week = [week_start + timedelta(days=offset) for offset in range(WEEK_DAYS)]
    volume_charts = tuple(
        charts.bar_chart(
            title=f"{currency} captured per day ({_mode(livemode)})",
            values=[days.get(day, 0) for day in week],
            labels=[f"{day:%a} {day.day}" for day in week],
            captions=[f"{day:%a %d %b}: {_money(days.get(day, 0), currency)}" for day in week],
        )
        for (livemode, currency), days in sorted(daily.items(), key=lambda item: (not item[0][0], item[0][1]))
    )
    return PaymentVolumeTile(
        today=today, week_start=week_start, href=_changelist("payments.payment", created_at__gte=since[week_start]),
        lines=lines, charts=volume_charts,
    )


@dataclass(frozen=True)
class ReviewTile:
    count: int
    oldest_since: datetime | None
    href: str

    def state(self, now: datetime) -> str:
        return WARNING if self.count else OK


def attempts_needing_review() -> ReviewTile:
    """Payment attempts a person must chase (the connector has not told the outcome for days, or
    took money it should not have)."""
    queue = payment_selectors.attempts_needing_review()
    return ReviewTile(count=queue.count, oldest_since=queue.oldest_since,
                      href=_changelist("payments.attemptneedingreview"))


# --- maker-checker --------------------------------------------------------------------------

# How many of a checker's waiting requests the tile lists (the link leads to all of them).
APPROVALS_LISTED = 5


@dataclass(frozen=True)
class ApprovalLine:
    label: str
    maker: str
    expires_at: datetime
    href: str


@dataclass(frozen=True)
class ApprovalsTile:
    count: int
    oldest: tuple[ApprovalLine, ...]
    href: str

    def state(self, now: datetime) -> str:
        return WARNING if self.count else OK


def approvals_awaiting_me(user) -> ApprovalsTile:
    """The maker-checker requests this user may approve (none for anyone who is no checker)."""
    waiting = compliance_selectors.approval_requests_awaiting(user).select_related("maker")
    oldest = tuple(
        ApprovalLine(label=str(request), maker=request.maker.get_username(), expires_at=request.expires_at,
                     href=reverse("admin:compliance_approvalrequest_change", args=[request.pk]))
        for request in waiting[:APPROVALS_LISTED]
    )
    return ApprovalsTile(count=waiting.count() if len(oldest) == APPROVALS_LISTED else len(oldest),
                         oldest=oldest, href=reverse("admin:compliance_approvalrequest_mine"))


# --- compliance: alerts, cases, holds -------------------------------------------------------------


@dataclass(frozen=True)
class SeverityLine:
    severity: str
    label: str
    count: int
    href: str


@dataclass(frozen=True)
class ComplianceTile:
    alerts: tuple[SeverityLine, ...]  # open alerts, critical first
    alerts_href: str
    overdue_cases: int
    oldest_overdue_since: datetime | None
    overdue_href: str
    holds_waiting: int
    soonest_hold_due: datetime | None
    holds_href: str

    @property
    def href(self) -> str:
        return self.alerts_href

    def state(self, now: datetime) -> str:
        critical = any(line.count for line in self.alerts if line.severity == "critical")
        if self.overdue_cases or critical:
            return ALARM
        return WARNING if self.holds_waiting or any(line.count for line in self.alerts) else OK


def compliance_work() -> ComplianceTile:
    """Open alerts by severity, cases past their service level, and payments and payouts held for
    an officer's decision (the soonest due: declined by default when it passes)."""
    labels = dict(Severity.CHOICES)
    alerts = tuple(
        SeverityLine(severity=severity, label=labels[severity], count=count,
                     href=_changelist("compliance.alert", status__exact="open", severity__exact=severity))
        for severity, count in case_selectors.open_alerts_by_severity().items()
    )
    overdue, holds = case_selectors.overdue_cases(), case_selectors.holds_waiting()
    return ComplianceTile(
        alerts=alerts, alerts_href=_changelist("compliance.alert", status__exact="open"),
        overdue_cases=overdue.count, oldest_overdue_since=overdue.oldest,
        overdue_href=_changelist("compliance.case", due_at__lte=clock.now().isoformat(),
                                 status__in="open,investigating,escalated"),
        holds_waiting=holds.count, soonest_hold_due=holds.oldest,
        holds_href=_changelist("compliance.alert", hold_state__exact="held"),
    )


# --- connectors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectorLine:
    name: str
    display_name: str
    method: str
    mode: str
    enabled: bool
    breaker: str  # closed, open, half-open
    success_rate: str  # "93.3%", or "" without attempts in the window
    attempts: int
    href: str


@dataclass(frozen=True)
class ConnectorTile:
    href: str
    lines: tuple[ConnectorLine, ...]

    def state(self, now: datetime) -> str:
        breakers = {line.breaker for line in self.lines if line.enabled}
        return ALARM if "open" in breakers else WARNING if "half-open" in breakers else OK


def _percent(rate: Decimal | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def connector_health() -> ConnectorTile:
    """Each connector's success rate over routing's scoring window (10 minutes) and its circuit
    breaker, as routing reads them from Redis."""
    lines = tuple(
        ConnectorLine(
            name=connector.name, display_name=connector.display_name, method=connector.method,
            mode=_mode(connector.livemode), enabled=connector.enabled,
            breaker=connector.status.breaker.value.replace("_", "-"),
            success_rate=_percent(connector.status.success_rate), attempts=connector.status.attempts,
            href=reverse("admin:routing_connector_change", args=[connector.id]),
        )
        for connector in routing_selectors.connector_overview()
    )
    return ConnectorTile(href=_changelist("routing.connector"), lines=lines)


# --- queues and the outbox ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueLine:
    queue: str
    ready: int | None  # None: RabbitMQ did not answer
    dead_in_broker: int | None  # waiting in <queue>.dead, not collected yet
    dead_letters_open: int  # collected, awaiting an operator in the admin
    href: str


@dataclass(frozen=True)
class QueueTile:
    broker_available: bool
    href: str
    lines: tuple[QueueLine, ...]

    def state(self, now: datetime) -> str:
        if not self.broker_available:
            return UNAVAILABLE
        dead = any(line.dead_letters_open or line.dead_in_broker for line in self.lines)
        return ALARM if dead else OK


def queues() -> QueueTile:
    """Messages ready in each RabbitMQ queue and dead letters per queue (in RabbitMQ, and
    collected into the admin). Without RabbitMQ the depths read "unavailable" and the rest shows."""
    try:
        depths: dict[str, int] | None = outbox_selectors.queue_depths(timeout=BROKER_TIMEOUT_SECONDS)
    except outbox_selectors.BROKER_UNREACHABLE as error:
        logger.warning("dashboard: RabbitMQ unavailable", extra={"error": f"{type(error).__name__}: {error}"})
        depths = None
    open_letters = outbox_selectors.dead_letters_open_by_queue()
    lines = tuple(
        QueueLine(
            queue=name,
            ready=None if depths is None else depths.get(name, 0),
            dead_in_broker=None if depths is None else depths.get(outbox_selectors.dead_letter_queue_name(name), 0),
            dead_letters_open=open_letters.get(name, 0),
            href=_changelist("events.deadletter", state="open", queue__exact=name),
        )
        for name in outbox_selectors.queue_names()
    )
    return QueueTile(broker_available=depths is not None, href=_changelist("events.deadletter", state="open"),
                     lines=lines)


@dataclass(frozen=True)
class OutboxTile:
    unsent: int
    oldest_created_at: datetime | None
    href: str

    def state(self, now: datetime) -> str:
        if self.oldest_created_at is not None and now - self.oldest_created_at > OUTBOX_STUCK_AFTER:
            return ALARM
        return OK


def outbox() -> OutboxTile:
    """Messages written in a business transaction and not yet published to RabbitMQ."""
    backlog = outbox_selectors.outbox_backlog()
    return OutboxTile(unsent=backlog.unpublished, oldest_created_at=backlog.oldest_created_at,
                      href=_changelist("events.outboxmessage", published_at__isnull="True"))


# --- verifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationTile:
    what: str
    checked_at: datetime | None  # None: never run
    ok: bool
    detail: str
    href: str

    def state(self, now: datetime) -> str:
        if self.checked_at is None or not self.ok or now - self.checked_at > VERIFICATION_STALE_AFTER:
            return ALARM
        return OK


def ledger_verification() -> VerificationTile:
    """The last run of the ledger's invariant check (nightly, or ``manage.py ledger_verify``)."""
    verification = ledger_selectors.latest_verification()
    if verification is None:
        return VerificationTile(what="ledger", checked_at=None, ok=False, detail="never run",
                                href=_changelist("ledger.verification"))
    detail = (f"{verification.accounts} accounts, {verification.transfers} transfers" if verification.ok
              else verification.problem)
    # A failure links to the failed runs; a pass to every run, newest first.
    href = _changelist("ledger.verification") if verification.ok else _changelist("ledger.verification", ok__exact=0)
    return VerificationTile(what="ledger", checked_at=verification.finished_at, ok=verification.ok, detail=detail,
                            href=href)


def audit_verification() -> VerificationTile:
    """The last proof of the audit journal's hash chain (the nightly ``audit.verify`` job)."""
    verification = audit_selectors.audit_latest_verification()
    href = _changelist("audit.auditevent", object_type=audit_selectors.CHAIN_OBJECT_TYPE)
    if verification is None:
        return VerificationTile(what="audit chain", checked_at=None, ok=False, detail="never run", href=href)
    return VerificationTile(what="audit chain", checked_at=verification.verified_at, ok=verification.ok,
                            detail=verification.detail, href=href)


# --- settlement ---------------------------------------------------------------------------------

NOT_STARTED = "not started"


@dataclass(frozen=True)
class SettlementDay:
    """A currency's last closed business date and where its run stands."""

    currency: str
    business_date: date
    closed_at: datetime
    status: str  # not started, running, completed, failed
    merchants: int
    merchants_settled: int
    net: str  # once completed
    failure: str
    href: str  # the run's page, or the currency's runs before it starts
    resume_href: str  # a failed run's Resume page


@dataclass(frozen=True)
class SettlementTile:
    href: str
    days: tuple[SettlementDay, ...]
    earlier_failed: tuple[SettlementDay, ...]  # failed runs of earlier dates: each waits for a person

    def state(self, now: datetime) -> str:
        if self.earlier_failed or any(day.status == "failed" for day in self.days):
            return ALARM
        late = [day for day in self.days if day.status in (NOT_STARTED, "running")
                and now - day.closed_at > SETTLEMENT_LATE_AFTER]
        return WARNING if late else OK


def _settlement_day(currency: str, business_date: date, closed_at: datetime, run) -> SettlementDay:
    if run is None:
        return SettlementDay(currency=currency, business_date=business_date, closed_at=closed_at, status=NOT_STARTED,
                             merchants=0, merchants_settled=0, net="", failure="", resume_href="",
                             href=_changelist("settlement.settlementrun", currency=currency))
    return SettlementDay(
        currency=currency, business_date=business_date, closed_at=closed_at, status=run.status,
        merchants=run.merchants, merchants_settled=run.merchants_settled,
        net=_money(run.net, currency) if run.status == "completed" else "", failure=run.failure,
        href=reverse("admin:settlement_settlementrun_change", args=[run.pk]),
        resume_href=reverse("admin:settlement_settlementrun_resume", args=[run.pk]) if run.status == "failed" else "",
    )


def settlement() -> SettlementTile:
    """Each currency's last closed business date and its run: not started, running (how far),
    completed (its net) or failed (why, and where to resume it); and every failed run of an earlier
    date. Red while any run has failed (``settlement.run_failed`` is journaled too)."""
    overview = settlement_selectors.settlement_overview()
    days = tuple(_settlement_day(day.currency, day.business_date, day.closed_at, day.run) for day in overview.days)
    shown = {(day.currency, day.business_date) for day in days}
    earlier = tuple(_settlement_day(run.currency, run.business_date, run.period_end, run) for run in overview.failed
                    if (run.currency, run.business_date) not in shown)
    return SettlementTile(href=_changelist("settlement.settlementrun"), days=days, earlier_failed=earlier)


# --- reconciliation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakAgeLine:
    label: str
    count: int
    href: str


@dataclass(frozen=True)
class DifferingStatement:
    statement: str
    nostro: str
    closing_date: date
    difference: str
    href: str


@dataclass(frozen=True)
class AgreedBalanceLine:
    nostro: str
    balance: str
    closing_date: date


@dataclass(frozen=True)
class ReconciliationTile:
    open_breaks: tuple[BreakAgeLine, ...]  # youngest first
    differing: tuple[DifferingStatement, ...]
    agreed: tuple[AgreedBalanceLine, ...]
    href: str

    def state(self, now: datetime) -> str:
        if self.differing:
            return ALARM
        # Breaks over three days old are late: the bank has had time to book what was expected.
        return WARNING if any(line.count for line in self.open_breaks[2:]) else OK


def reconciliation() -> ReconciliationTile:
    """Open breaks by age, statements whose newest balance proof differs (an alarm), and each
    nostro's last balance the books and the bank agreed on."""
    ages = ("day", "days", "older")
    bands = break_selectors.open_breaks_by_age(now=clock.now())
    return ReconciliationTile(
        open_breaks=tuple(BreakAgeLine(label=band.label, count=band.count,
                                       href=_changelist("reconciliation.break", status="open", age=age))
                          for band, age in zip(bands, ages, strict=True)),
        differing=tuple(DifferingStatement(
            statement=str(proof.statement), nostro=proof.nostro_id, closing_date=proof.statement.closing_date,
            difference=Money(proof.difference, proof.currency).format(),
            href=_changelist("reconciliation.balanceproof", statement__id__exact=proof.statement_id))
            for proof in proof_selectors.statements_differing()),
        agreed=tuple(AgreedBalanceLine(nostro=balance.nostro, balance=Money(balance.balance, balance.currency).format(),
                                       closing_date=balance.closing_date)
                     for balance in proof_selectors.last_agreed_balances()),
        href=_changelist("reconciliation.break", status="open"),
    )


# --- treasury -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionLine:
    currency: str
    ledger_balance: str
    payouts_due: str
    expected_in: str
    lowest: str  # the lowest closing forecast of the 7 business days
    lowest_date: date
    below_zero: tuple[str, ...]  # the days forecast below zero, with their balance ("Sun 13 Apr: -1.250 BHD")
    below_threshold: tuple[str, ...] = ()  # nostros forecast below their threshold ("nbb-bhd-01 from Sun 13 Apr")


@dataclass(frozen=True)
class TreasuryPositionsTile:
    href: str
    lines: tuple[PositionLine, ...]
    charts: tuple[charts.BarChart, ...]

    def state(self, now: datetime) -> str:
        return WARNING if any(line.below_zero or line.below_threshold for line in self.lines) else OK


def treasury_positions() -> TreasuryPositionsTile:
    """Each currency's money at its nostros, the payouts not yet left, the connector settlements
    expected, and a chart of the closing forecast over 7 business days. Bars cannot go below the
    axis: a day forecast below zero is drawn empty, marked "▼" under it, and listed with its figure."""
    found = treasury_positions_selectors.positions()
    lines, drawn = [], []
    for position in found.currencies:
        code, days = position.currency, position.days
        lowest = min(days, key=lambda day: (day.closing, day.date))
        below = tuple(f"{day.date:%a %d %b}: {_money(day.closing, code)}" for day in days if day.closing < 0)
        crossing = tuple(f"{nostro.code} from {day.date:%a %d %b}" for nostro in position.nostros
                         if (day := nostro.first_below_threshold) is not None)
        lines.append(PositionLine(
            currency=code, ledger_balance=_money(position.ledger_balance, code),
            payouts_due=_money(position.payouts_due, code), expected_in=_money(position.expected_in, code),
            lowest=_money(lowest.closing, code), lowest_date=lowest.date, below_zero=below,
            below_threshold=crossing))
        drawn.append(charts.bar_chart(
            title=f"{code} closing forecast, next 7 business days",
            values=[max(day.closing, 0) for day in days],
            labels=[f"{day.date:%a} {day.date.day}{' ▼' if day.closing < 0 else ''}" for day in days],
            captions=[f"{day.date:%a %d %b}: {_money(day.closing, code)}" for day in days]))
    return TreasuryPositionsTile(href=_changelist("treasury.position"), lines=tuple(lines), charts=tuple(drawn))


@dataclass(frozen=True)
class LiquidityAlertLine:
    nostro: str
    currency: str
    forecast_date: date
    forecast_balance: str
    threshold: str
    acknowledged_by: str
    href: str


@dataclass(frozen=True)
class LiquidityAlertsTile:
    href: str
    alerts: tuple[LiquidityAlertLine, ...]

    def state(self, now: datetime) -> str:
        return ALARM if self.alerts else OK


def liquidity_alerts() -> LiquidityAlertsTile:
    """The open low-liquidity alerts: red while any nostro's forecast is below its threshold."""
    alerts = tuple(
        LiquidityAlertLine(nostro=alert.nostro_code, currency=alert.currency, forecast_date=alert.forecast_date,
                           forecast_balance=_money(alert.forecast_balance, alert.currency),
                           threshold=_money(alert.threshold, alert.currency), acknowledged_by=alert.acknowledged_by,
                           href=reverse("admin:treasury_liquidityalert_change", args=[alert.id]))
        for alert in treasury_positions_selectors.liquidity_alerts_open()
    )
    return LiquidityAlertsTile(href=_changelist("treasury.liquidityalert", cleared_at__isempty=1), alerts=alerts)


@dataclass(frozen=True)
class FxRateLine:
    pair: str
    mid_rate: Decimal
    spread_bp: Decimal  # basis points: 25 for a spread of 0.0025
    source: str
    as_of: datetime
    max_age_seconds: int
    href: str  # the pair's rates, newest first

    def is_stale(self, now: datetime) -> bool:
        return (now - self.as_of).total_seconds() > self.max_age_seconds

    @property
    def stale(self) -> bool:
        """For the template, at the moment the page is drawn (the line itself may be cached)."""
        return self.is_stale(clock.now())


@dataclass(frozen=True)
class FxRatesTile:
    href: str
    rates: tuple[FxRateLine, ...]

    def state(self, now: datetime) -> str:
        return WARNING if any(line.is_stale(now) for line in self.rates) else OK


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros, never in exponent form: 40 bp, not 4E+1."""
    return Decimal(f"{value.normalize():f}")


def fx_rates() -> FxRatesTile:
    """Each published pair's current rate, its spread and its age: "warning" while any is older than
    its maximum age (it quotes no conversion until treasury uploads a newer one)."""
    lines = tuple(
        FxRateLine(pair=f"{rate.base_currency}/{rate.quote_currency}", mid_rate=_plain(rate.mid_rate),
                   spread_bp=_plain(rate.spread * 10_000), source=rate.source, as_of=rate.as_of,
                   max_age_seconds=rate.max_age_seconds,
                   href=_changelist("treasury.fxrate", pair=f"{rate.base_currency}/{rate.quote_currency}"))
        for rate in fx_selectors.current_rates()
    )
    return FxRatesTile(href=_changelist("treasury.fxrate"), rates=lines)
