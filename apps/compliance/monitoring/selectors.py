"""Reading what monitoring recorded: the windows rules evaluate, a subject's recent activity (the
case page), the high-risk jurisdictions, and which rules apply to a movement."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import Q, QuerySet

from apps.compliance.data import Observation, SubjectType
from apps.compliance.models import HighRiskJurisdiction, MerchantProfile, MonitoredEvent, MonitoringRule, RiskTier
from apps.core.table_snapshots import TableSnapshot

# A window's dimension → the MonitoredEvent field it reads.
DIMENSION_FIELDS = {"merchant": "merchant_id", "wallet": "wallet", "card_fingerprint": "card_fingerprint",
                    "iban": "iban"}
_EVENTS = MonitoredEvent._meta.db_table


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


def windows_figures(*, observation: Observation, windows: Iterable[Window]) -> dict[Window, WindowFigures]:
    """Each window's count and total, in one statement (one range read of its dimension's index
    each); no statement when there is no window."""
    windows = list(dict.fromkeys(windows))
    if not windows:
        return {}
    parts, params = [], []
    for position, window in enumerate(windows):
        column = DIMENSION_FIELDS[window.dimension]
        conditions = [f"{column} = %s", "livemode = %s", "currency = %s", "occurred_at > %s", "occurred_at <= %s",
                      "kind = ANY(%s)", "NOT failed"]
        params += [dimension_value(observation, window.dimension), observation.livemode, observation.currency,
                   window.since, observation.occurred_at, list(window.kinds)]
        if column != "merchant_id":
            conditions.append(f"{column} <> ''")  # the dimension's partial index
        for condition, bound in (("amount >= %s", window.amount_from), ("amount < %s", window.amount_below),
                                 ("amount %% %s = 0", window.multiple)):
            if bound is not None:
                conditions.append(condition)
                params.append(bound)
        parts.append(f"SELECT {position}, count(*), coalesce(sum(amount), 0) FROM {_EVENTS} "
                     f"WHERE {' AND '.join(conditions)}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    return {windows[position]: WindowFigures(count, int(total)) for position, count, total in rows}


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
