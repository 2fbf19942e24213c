"""Reading what monitoring recorded: the windows rules evaluate, a subject's recent activity (the
case page), the high-risk jurisdictions, and which rules apply to a movement."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Q, QuerySet

from apps.compliance.data import Observation, SubjectType
from apps.compliance.models import (
    HighRiskJurisdiction,
    MerchantProfile,
    MonitoredEvent,
    MonitoringRule,
    MonitoringTally,
    RiskTier,
)
from apps.core.table_snapshots import TableSnapshot

# A window's dimension → the MonitoredEvent field it reads.
DIMENSION_FIELDS = {"merchant": "merchant_id", "wallet": "wallet", "card_fingerprint": "card_fingerprint",
                    "iban": "iban"}
_EVENTS = MonitoredEvent._meta.db_table
_TALLIES = MonitoringTally._meta.db_table


@dataclass(frozen=True, slots=True)
class WindowFigures:
    count: int
    total: int


def dimension_value(observation: Observation, dimension: str) -> str | UUID | None:
    """The observation's merchant, wallet, card or IBAN (None when it has none)."""
    value = getattr(observation, DIMENSION_FIELDS[dimension])
    return value or None


@dataclass(frozen=True, slots=True)
class Window:
    """The movements of ``kinds`` sharing the observation's ``dimension`` (same mode and currency)
    in ``since < occurred_at <= observation.occurred_at``, failed payments left out; narrowed to
    ``amount_from <= amount < amount_below`` and to the multiples of ``multiple`` when given."""

    dimension: str
    kinds: tuple[str, ...]
    since: datetime
    amount_from: int | None = None
    amount_below: int | None = None
    multiple: int | None = None


_MINUTE, _HOUR = timedelta(minutes=1), timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor(moment: datetime, span: timedelta) -> datetime:
    """The start of the minute or hour (UTC) ``moment`` falls in, as the tallies' triggers bin it."""
    return _EPOCH + (moment - _EPOCH) // span * span


def _ceil(moment: datetime, span: timedelta) -> datetime:
    floor = _floor(moment, span)
    return floor if floor == moment else floor + span


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a window is read: the movements in ``since < occurred_at < head_end`` (the partial minute
    at its start), the tallies of the whole minutes and hours in ``[head_end, tail_end)`` (the last
    one being the minute ``until`` falls in), less the movements in ``until < occurred_at <
    tail_end`` (that minute's, recorded after ``until``)."""

    head_end: datetime
    tail_end: datetime
    hours: tuple[datetime, datetime] | None


def _plan(since: datetime, until: datetime) -> _Plan | None:
    """None when the window starts and ends in one minute: its movements are read."""
    head_end, tail_end = _floor(since, _MINUTE) + _MINUTE, _floor(until, _MINUTE) + _MINUTE
    if head_end >= tail_end:
        return None
    hours = (_ceil(head_end, _HOUR), _floor(tail_end, _HOUR))
    return _Plan(head_end, tail_end, hours if hours[0] < hours[1] else None)


def _tally_buckets(plan: _Plan) -> list[tuple[int, datetime, datetime]]:
    """The buckets ``[start, end)`` a plan reads from the tallies, as (seconds, start, end)."""
    if plan.hours is None:
        return [(60, plan.head_end, plan.tail_end)]
    (first_hour, end_of_hours) = plan.hours
    return [(60, plan.head_end, first_hour), (3600, first_hour, end_of_hours), (60, end_of_hours, plan.tail_end)]


def _movements(position: int, window: Window, observation: Observation, *, sign: str, after: datetime,
               before: datetime | None = None, through: datetime | None = None) -> tuple[str, list[Any]]:
    """The count and total (times ``sign``) of the window's movements in ``after < occurred_at <
    before`` (or ``<= through``): one range read of its dimension's index."""
    column = DIMENSION_FIELDS[window.dimension]
    conditions = [f"{column} = %s", "livemode = %s", "currency = %s", "kind = ANY(%s)", "NOT failed",
                  "occurred_at > %s", "occurred_at < %s" if before is not None else "occurred_at <= %s"]
    params = [dimension_value(observation, window.dimension), observation.livemode, observation.currency,
              list(window.kinds), after, before if before is not None else through]
    if column != "merchant_id":
        conditions.append(f"{column} <> ''")  # the dimension's partial index
    for condition, amount in (("amount >= %s", window.amount_from), ("amount < %s", window.amount_below),
                              ("amount %% %s = 0", window.multiple)):
        if amount is not None:
            conditions.append(condition)
            params.append(amount)
    return (f"SELECT {position}, {sign}count(*), {sign}coalesce(sum(amount), 0) FROM {_EVENTS} "
            f"WHERE {' AND '.join(conditions)}", params)


def _tally_value(observation: Observation, dimension: str) -> str:
    """The dimension's value as the tallies' triggers write it (a merchant's uuid as PostgreSQL prints it)."""
    value = dimension_value(observation, dimension)
    return str(UUID(str(value))) if dimension == "merchant" else str(value)


def _tallied(position: int, window: Window, observation: Observation, *, seconds: int, start: datetime,
             end: datetime) -> tuple[str, list[Any]]:
    """The count and total of the window's tallies of ``seconds`` starting in ``[start, end)``."""
    return (f"SELECT {position}, coalesce(sum(count), 0), coalesce(sum(total), 0) FROM {_TALLIES} "
            "WHERE dimension = %s AND value = %s AND livemode = %s AND currency = %s AND kind = ANY(%s) "
            "AND bucket_seconds = %s AND bucket_start >= %s AND bucket_start < %s",
            [window.dimension, _tally_value(observation, window.dimension), observation.livemode,
             observation.currency, list(window.kinds), seconds, start, end])


def _window_parts(position: int, window: Window, observation: Observation) -> list[tuple[str, list[Any]]]:
    """The statements whose sum is the window's count and total."""
    until = observation.occurred_at
    narrowed = (window.amount_from, window.amount_below, window.multiple) != (None, None, None)
    plan = None if narrowed else _plan(window.since, until)
    if plan is None:
        return [_movements(position, window, observation, sign="", after=window.since, through=until)]
    return [
        _movements(position, window, observation, sign="", after=window.since, before=plan.head_end),
        *(_tallied(position, window, observation, seconds=seconds, start=start, end=end)
          for seconds, start, end in _tally_buckets(plan)),
        _movements(position, window, observation, sign="-", after=until, before=plan.tail_end),
    ]


def windows_figures(*, observation: Observation, windows: Iterable[Window]) -> dict[Window, WindowFigures]:
    """Each window's count and total, in one statement; no statement when there is no window.

    A window of whole minutes reads the tallies (``MonitoringTally``: at most one row per hour and
    the minutes at its ends) and only the movements of its partial first and last minute, so it
    costs the same whatever the volume in it. A window narrowed by amount, or starting and ending
    in one minute, reads its movements (one range read of its dimension's index)."""
    windows = list(dict.fromkeys(windows))
    if not windows:
        return {}
    parts = [part for position, window in enumerate(windows) for part in _window_parts(position, window, observation)]
    with connection.cursor() as cursor:
        # The tallies' trigger waits for the commit (compliance migration 0011): set IMMEDIATE, it
        # first tallies what this transaction recorded (the movement being evaluated, often).
        cursor.execute("SET CONSTRAINTS monitoring_tally IMMEDIATE; "
                       f"SELECT position, sum(count), sum(total) FROM ({' UNION ALL '.join(sql for sql, _ in parts)}) "
                       "AS part (position, count, total) GROUP BY position",
                       [param for _, params in parts for param in params])
        rows = cursor.fetchall()
    return {windows[position]: WindowFigures(int(count), int(total)) for position, count, total in rows}


def earlier_movement_exists(*, observation: Observation, kinds: tuple[str, ...], since: datetime,
                            amount_from: int) -> bool:
    """Whether the merchant had a movement of ``kinds`` of ``amount_from`` or more in ``since <
    occurred_at < observation.occurred_at`` (same mode and currency, failed payments left out)."""
    return MonitoredEvent.objects.filter(
        merchant_id=observation.merchant_id, livemode=observation.livemode, currency=observation.currency,
        occurred_at__gt=since, occurred_at__lt=observation.occurred_at, kind__in=kinds, failed=False,
        amount__gte=amount_from,
    ).exists()


def observations_for(*, subject_type: str, subject_id: str, limit: int = 50) -> list[MonitoredEvent]:
    """A subject's most recent movements, newest first (the case page's "recent activity"): a
    merchant's (by its uuid), a wallet's (``acc_…``), a counterparty's (card fingerprint or IBAN),
    or the one payment or payout (its uuid). Empty for a subject monitoring does not know."""
    if subject_type == SubjectType.MERCHANT:
        try:
            lookup = Q(merchant_id=UUID(subject_id))
        except ValueError:
            return []
    elif subject_type == SubjectType.WALLET:
        lookup = Q(wallet=subject_id)
    elif subject_type == SubjectType.COUNTERPARTY:
        lookup = Q(card_fingerprint=subject_id) | Q(iban=subject_id)
    elif subject_type == SubjectType.PAYMENT:
        lookup = Q(source="payments.payment", source_id=subject_id)
    elif subject_type == SubjectType.PAYOUT:
        lookup = Q(source="payments.payout", source_id=subject_id)
    else:
        return []
    return list(MonitoredEvent.objects.filter(lookup).order_by("-occurred_at", "-id")[:limit])


def merchant_profile_get(merchant_id: UUID | None) -> MerchantProfile | None:
    return MerchantProfile.objects.filter(merchant_id=merchant_id).first() if merchant_id else None


@dataclass(frozen=True, slots=True)
class MonitoringSetup:
    """The enabled rules monitoring evaluates (sanctions hits are screening's), by currency they
    have parameters for, most severe first; and the high-risk jurisdictions by country. Never
    saved: read-only."""

    rules: dict[str, tuple[MonitoringRule, ...]]
    jurisdictions: dict[str, HighRiskJurisdiction]


_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _setup_build() -> MonitoringSetup:
    enabled = sorted(MonitoringRule.objects.filter(enabled=True).exclude(kind=MonitoringRule.Kind.SANCTIONS_HIT),
                     key=lambda rule: (_SEVERITY_RANK[rule.severity], rule.name))
    currencies = {currency for rule in enabled for currency in (rule.parameters or {})}
    return MonitoringSetup(
        rules={currency: tuple(rule for rule in enabled if currency in (rule.parameters or {}))
               for currency in currencies},
        jurisdictions={row.country: row for row in HighRiskJurisdiction.objects.all()},
    )


# Read once per process, and again only when a rule or a jurisdiction changed: evaluating a
# movement costs one small query for them, not one per rule.
_setup = TableSnapshot(MonitoringRule, HighRiskJurisdiction, build=_setup_build)


def monitoring_setup() -> MonitoringSetup:
    """The rules and jurisdictions as PostgreSQL has them now (one small query while unchanged)."""
    return _setup.get()


def in_scope(rule: MonitoringRule, merchant_id: UUID | None, profile: MerchantProfile | None) -> bool:
    """Whether ``rule`` watches this merchant: all merchants, one risk tier (a merchant without a
    profile yet has the default tier), or one merchant."""
    if rule.scope == MonitoringRule.Scope.MERCHANT:
        return merchant_id is not None and rule.scope_merchant_id == merchant_id
    if rule.scope == MonitoringRule.Scope.RISK_TIER:
        tier = profile.risk_tier if profile is not None else RiskTier.MEDIUM
        return rule.scope_risk_tier == tier
    return True


def rules_for(setup: MonitoringSetup, observation: Observation, *, hold_only: bool = False) -> list[MonitoringRule]:
    """The enabled rules of ``setup`` that watch ``observation`` (read-only): in scope, with
    parameters for its currency (sanctions hits are screening's), most severe first.
    ``hold_only``: those that hold. The merchant's profile is read only when a rule is scoped to
    a risk tier."""
    rules = [rule for rule in setup.rules.get(observation.currency, ())
             if not hold_only or rule.action == MonitoringRule.Action.HOLD]
    profile = None
    if any(rule.scope == MonitoringRule.Scope.RISK_TIER for rule in rules):
        profile = merchant_profile_get(observation.merchant_id)
    return [rule for rule in rules if in_scope(rule, observation.merchant_id, profile)]


def events_between(*, since: datetime, until: datetime) -> QuerySet:
    """Every movement recorded in ``since <= occurred_at < until``, oldest first (backtests)."""
    return MonitoredEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until).order_by("occurred_at", "id")


def as_observation(event: MonitoredEvent) -> Observation:
    """A recorded movement as the rules read it (a backtest replays these)."""
    return Observation(
        source=event.source, source_id=event.source_id, kind=event.kind, merchant_id=event.merchant_id,
        livemode=event.livemode, amount=event.amount, currency=event.currency, occurred_at=event.occurred_at,
        method=event.method, country=event.country, wallet=event.wallet, card_fingerprint=event.card_fingerprint,
        iban=event.iban, counterparty_name=event.counterparty_name,
    )
