"""Reading what monitoring recorded: the windows rules evaluate, a subject's recent activity (the
case page), the high-risk jurisdictions, and which rules apply to a movement."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet, Sum

from apps.compliance.data import Observation, SubjectType
from apps.compliance.models import HighRiskJurisdiction, MerchantProfile, MonitoredEvent, MonitoringRule, RiskTier

# A window's dimension → the MonitoredEvent field it reads.
DIMENSION_FIELDS = {"merchant": "merchant_id", "wallet": "wallet", "card_fingerprint": "card_fingerprint",
                    "iban": "iban"}


@dataclass(frozen=True, slots=True)
class WindowFigures:
    count: int
    total: int


def dimension_value(observation: Observation, dimension: str) -> str | UUID | None:
    """The observation's merchant, wallet, card or IBAN (None when it has none)."""
    value = getattr(observation, DIMENSION_FIELDS[dimension])
    return value or None


def window(*, observation: Observation, dimension: str, since: datetime, kinds: tuple[str, ...]) -> QuerySet:
    """The movements of ``kinds`` sharing ``observation``'s ``dimension`` (same mode and currency)
    in ``since < occurred_at <= observation.occurred_at``, failed payments left out: one range
    read of that dimension's index."""
    return MonitoredEvent.objects.filter(
        **{DIMENSION_FIELDS[dimension]: dimension_value(observation, dimension)},
        livemode=observation.livemode, currency=observation.currency, occurred_at__gt=since,
        occurred_at__lte=observation.occurred_at, kind__in=kinds, failed=False,
    )


def window_figures(events: QuerySet) -> WindowFigures:
    figures = events.aggregate(count=Count("id"), total=Sum("amount"))
    return WindowFigures(figures["count"], figures["total"] or 0)


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


def high_risk_countries(lists: tuple[str, ...]) -> dict[str, HighRiskJurisdiction]:
    return {row.country: row for row in HighRiskJurisdiction.objects.filter(list__in=lists)}


def in_scope(rule: MonitoringRule, merchant_id: UUID | None, profile: MerchantProfile | None) -> bool:
    """Whether ``rule`` watches this merchant: all merchants, one risk tier (a merchant without a
    profile yet has the default tier), or one merchant."""
    if rule.scope == MonitoringRule.Scope.MERCHANT:
        return merchant_id is not None and rule.scope_merchant_id == merchant_id
    if rule.scope == MonitoringRule.Scope.RISK_TIER:
        tier = profile.risk_tier if profile is not None else RiskTier.MEDIUM
        return rule.scope_risk_tier == tier
    return True


def rules_for(observation: Observation, *, hold_only: bool = False) -> list[MonitoringRule]:
    """The enabled rules that watch ``observation``: in scope, with parameters for its currency
    (sanctions hits are screening's), most severe first. ``hold_only``: those that hold."""
    rules = MonitoringRule.objects.filter(enabled=True).exclude(kind=MonitoringRule.Kind.SANCTIONS_HIT)
    if hold_only:
        rules = rules.filter(action=MonitoringRule.Action.HOLD)
    profile = merchant_profile_get(observation.merchant_id)
    watching = [rule for rule in rules if observation.currency in (rule.parameters or {})
                and in_scope(rule, observation.merchant_id, profile)]
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return sorted(watching, key=lambda rule: (rank[rule.severity], rule.name))


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
