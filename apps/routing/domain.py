"""How routing decides, in pure Python (no Django, no Redis), so it can be tested exhaustively.

- eligibility: may this connector take this payment at all (method, currency, country, amount
  range, enabled)?
- rules: the first enabled rule whose conditions all hold decides the candidate list and how
  it is ordered (priority, weighted volume split, success-rate scoring);
- volume split and exploration draw from a hash of the payment id, so the same payment always
  gets the same answer and the shares converge to the configured weights;
- success rate: approvals over attempts in a sliding window, smoothed (Laplace) so a connector
  without history scores 0.5 instead of 0 or 1;
- circuit breaker: closed → open (failure ratio over the window, with a minimum of samples) →
  half-open after the open duration (one probe at a time) → closed on a good answer, open
  again on a failure;
- payouts: the instant rail at or below the currency's instant payout limit, or the file.
"""

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from apps.routing.data import Method, Outcome, PaymentDescription, PayoutDescription, RoutingDecision

DEFAULT_RULE = "default"


# --- eligibility --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorProfile:
    """What eligibility needs to know about a connector."""

    name: str
    method: Method
    currencies: frozenset[str]
    countries: frozenset[str] = frozenset()  # empty: any country
    # currency → (min, max) in minor units, either None for no bound
    amount_limits: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    enabled: bool = True
    livemode: bool = False


def mode_label(livemode: bool) -> str:
    return "live" if livemode else "test"


def ineligibility(connector: ConnectorProfile, payment: PaymentDescription) -> str | None:
    """Why ``connector`` may not take ``payment``, or None when it may."""
    if connector.livemode != payment.livemode:
        return f"serves {mode_label(connector.livemode)} payments only"
    if not connector.enabled:
        return "disabled"
    if connector.method != payment.method:
        return f"takes {connector.method} payments, not {payment.method}"
    if payment.currency not in connector.currencies:
        return f"does not take {payment.currency}"
    if connector.countries and payment.country not in connector.countries:
        return f"does not serve {payment.country}"
    low, high = connector.amount_limits.get(payment.currency, (None, None))
    if low is not None and payment.amount < low:
        return f"amount below its minimum of {low} {payment.currency} minor units"
    if high is not None and payment.amount > high:
        return f"amount above its maximum of {high} {payment.currency} minor units"
    return None


# --- rules --------------------------------------------------------------------------------


class Strategy(StrEnum):
    PRIORITY = "priority"
    VOLUME_SPLIT = "volume_split"
    SUCCESS_RATE = "success_rate"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    connectors: tuple[str, ...]
    strategy: Strategy = Strategy.PRIORITY
    weights: tuple[int, ...] = ()
    exploration_share: Decimal = Decimal(0)
    enabled: bool = True
    methods: frozenset[str] = frozenset()
    currencies: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    merchant_ids: frozenset[UUID] = frozenset()
    min_amount: int | None = None
    max_amount: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    livemode: bool = False


def rule_matches(rule: Rule, payment: PaymentDescription) -> bool:
    """The rule is of the payment's mode and all of its conditions hold (an empty condition
    holds for any payment)."""
    if not rule.enabled or rule.livemode != payment.livemode:
        return False
    if rule.methods and payment.method not in rule.methods:
        return False
    if rule.currencies and payment.currency not in rule.currencies:
        return False
    if rule.countries and payment.country not in rule.countries:
        return False
    if rule.merchant_ids and payment.merchant_id not in rule.merchant_ids:
        return False
    if rule.min_amount is not None and payment.amount < rule.min_amount:
        return False
    if rule.max_amount is not None and payment.amount > rule.max_amount:
        return False
    for key, wanted in rule.metadata.items():
        if key not in payment.metadata or str(payment.metadata[key]) != str(wanted):
            return False
    return True


def rule_select(rules: Iterable[Rule], payment: PaymentDescription) -> Rule | None:
    """The first matching rule, in the order given."""
    return next((rule for rule in rules if rule_matches(rule, payment)), None)


def default_rule(connectors: Iterable[ConnectorProfile], payment: PaymentDescription,
                 exploration_share: Decimal) -> Rule:
    """When no rule matches: every connector of the payment's mode and method, by success rate."""
    names = tuple(sorted(c.name for c in connectors if c.method == payment.method and c.livemode == payment.livemode))
    return Rule(name=DEFAULT_RULE, connectors=names, strategy=Strategy.SUCCESS_RATE,
                exploration_share=exploration_share, livemode=payment.livemode)


# --- deterministic draws ------------------------------------------------------------------


def unit_draw(payment_id: UUID, salt: str) -> Decimal:
    """A number in [0, 1) fixed by the payment id and ``salt``, uniform over payment ids."""
    digest = hashlib.sha256(f"{salt}:{payment_id}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)


def volume_split_order(weighted: Sequence[tuple[str, int]], payment_id: UUID, salt: str) -> tuple[str, ...]:
    """The connector drawn for this payment (with probability weight / total) first, then the
    others by weight (heaviest first, then in the order given) for failover.

    With every weight zero, the order given is kept.
    """
    total = sum(weight for _, weight in weighted)
    by_weight = [name for name, _ in sorted(weighted, key=lambda pair: -pair[1])]
    if total <= 0:
        return tuple(name for name, _ in weighted)
    point = int(unit_draw(payment_id, f"split:{salt}") * total)
    for name, weight in weighted:
        if point < weight:
            return (name, *[other for other in by_weight if other != name])
        point -= weight
    raise AssertionError("unreachable: the draw is below the total weight")


# --- success-rate scoring -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Attempt outcomes in a sliding window. ``failed`` counts errors and unknown outcomes."""

    approved: int = 0
    declined: int = 0
    failed: int = 0

    @property
    def attempts(self) -> int:
        return self.approved + self.declined + self.failed


def success_rate(counts: WindowCounts) -> float:
    """Approvals over attempts, Laplace-smoothed: (approved + 1) / (attempts + 2).

    Without history a connector scores 0.5, and a handful of attempts cannot pin it at 0 or 1.
    """
    return (counts.approved + 1) / (counts.attempts + 2)


def success_rate_order(
    scores: Mapping[str, float], configured: Sequence[str], payment_id: UUID, exploration_share: Decimal, salt: str
) -> tuple[tuple[str, ...], bool]:
    """The connectors best score first (ties keep the configured order), and whether this
    payment explores: with probability ``exploration_share`` a connector other than the best
    (uniformly drawn) goes first, so a recovering or new connector keeps getting traffic and
    its score can rise again. Returns (order, explored)."""
    ranked = sorted(configured, key=lambda name: (-scores.get(name, 0.5), configured.index(name)))
    if len(ranked) < 2 or exploration_share <= 0:
        return tuple(ranked), False
    if unit_draw(payment_id, f"explore:{salt}") >= exploration_share:
        return tuple(ranked), False
    others = ranked[1:]
    pick = others[int(unit_draw(payment_id, f"explore-pick:{salt}") * len(others))]
    return (pick, *[name for name in ranked if name != pick]), True


# --- circuit breaker ----------------------------------------------------------------------


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window_seconds: int = 60
    min_samples: int = 10
    failure_ratio: Decimal = Decimal("0.5")
    open_seconds: int = 30


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """The breaker as stored: ``open_until_ms`` is set while open (and half-open after it)."""

    state: BreakerState = BreakerState.CLOSED
    open_until_ms: int = 0


def breaker_state_at(record: BreakerRecord, now_ms: int) -> BreakerState:
    """Open turns half-open by itself once its open duration has passed."""
    if record.state == BreakerState.OPEN and now_ms >= record.open_until_ms:
        return BreakerState.HALF_OPEN
    return record.state


def is_breaker_failure(outcome: Outcome) -> bool:
    """Technical failures count against the connector; a decline is the issuer's answer, and
    proves the connector works."""
    return outcome in (Outcome.ERROR, Outcome.UNKNOWN)


def breaker_transition(
    record: BreakerRecord, *, failure: bool, window_total: int, window_failures: int, policy: BreakerPolicy,
    now_ms: int,
) -> BreakerRecord | None:
    """The breaker after one more attempt result (already counted in the window), or None when
    it stays as it is."""
    state = breaker_state_at(record, now_ms)
    reopen = BreakerRecord(BreakerState.OPEN, now_ms + policy.open_seconds * 1000)
    if state == BreakerState.HALF_OPEN:
        return reopen if failure else BreakerRecord(BreakerState.CLOSED)
    tripped = window_total >= policy.min_samples and Decimal(window_failures) >= policy.failure_ratio * window_total
    if state == BreakerState.CLOSED and failure and tripped:
        return reopen
    return None


# --- the decision -------------------------------------------------------------------------


class Admission(StrEnum):
    """What the breaker says about routing to a connector now."""

    CLOSED = "closed"
    PROBE = "probe"  # half-open and this payment is the probe
    OPEN = "open"
    PROBE_BUSY = "probe_busy"  # half-open, another payment is already probing


@dataclass(frozen=True, slots=True)
class Health:
    admission: Admission = Admission.CLOSED
    score: float = 0.5


def _percent(score: float) -> str:
    return f"{score * 100:.0f}%"


def decide(
    *,
    payment: PaymentDescription,
    rule: Rule,
    connectors: Mapping[str, ConnectorProfile],
    health: Mapping[str, Health],
    exclude: Collection[str] = (),
) -> RoutingDecision:
    """Apply ``rule`` to the payment: drop what is excluded, ineligible or has its circuit open,
    then order what is left by the rule's strategy. A half-open connector admitted as this
    payment's probe goes first."""
    excluded: dict[str, str] = {}
    eligible: list[str] = []
    for name in dict.fromkeys(rule.connectors):
        connector = connectors.get(name)
        admission = health.get(name, Health()).admission
        if name in exclude:
            excluded[name] = "already tried for this payment"
        elif connector is None:
            excluded[name] = "unknown connector"
        elif (why := ineligibility(connector, payment)) is not None:
            excluded[name] = why
        elif admission == Admission.OPEN:
            excluded[name] = "circuit open"
        elif admission == Admission.PROBE_BUSY:
            excluded[name] = "circuit half-open, a probe is in flight"
        else:
            eligible.append(name)
    strategy = Strategy(rule.strategy)
    rule_label = "no rule matched, default" if rule.name == DEFAULT_RULE else f"rule {rule.name}"
    if not eligible:
        why = "; ".join(f"{name}: {reason}" for name, reason in excluded.items()) or (
            f"no {mode_label(payment.livemode)} connector takes {payment.method} payments" if rule.name == DEFAULT_RULE
            else "the rule names no connector")
        return RoutingDecision(
            candidates=(), strategy=strategy.value, rule=rule.name, excluded=excluded,
            reason=f"No connector is eligible ({rule_label}): {why}.",
        )
    scores: dict[str, float] = {}
    explored = False
    if strategy == Strategy.VOLUME_SPLIT:
        weights = dict(zip(rule.connectors, rule.weights, strict=False))
        candidates = volume_split_order([(name, weights.get(name, 0)) for name in eligible], payment.payment_id,
                                        rule.name)
        total = sum(weights.get(name, 0) for name in eligible)
        share = f"{weights.get(candidates[0], 0)}/{total}" if total else "no weight"
        reason = f"{rule_label}: volume split drew {candidates[0]} (weight {share})."
    elif strategy == Strategy.SUCCESS_RATE:
        scores = {name: health.get(name, Health()).score for name in eligible}
        candidates, explored = success_rate_order(scores, eligible, payment.payment_id, rule.exploration_share,
                                                  rule.name)
        ranking = ", ".join(f"{name} {_percent(scores[name])}" for name in candidates)
        if explored:
            reason = f"{rule_label}: exploring {candidates[0]} (success rates: {ranking})."
        else:
            reason = f"{rule_label}: highest success rate first ({ranking})."
    else:
        candidates = tuple(eligible)
        reason = f"{rule_label}: priority order."
    probes = [name for name in candidates if health.get(name, Health()).admission == Admission.PROBE]
    if probes:
        # The probe must reach the connector, or the breaker could never close: try it first
        # (a technical failure is retryable, so the payment still fails over).
        candidates = (*probes, *[name for name in candidates if name not in probes])
        reason += f" Half-open circuit probed first: {', '.join(probes)}."
    return RoutingDecision(
        candidates=tuple(candidates), strategy=strategy.value, rule=rule.name, reason=reason, scores=scores,
        excluded=excluded, explored=explored,
    )


# --- payouts ------------------------------------------------------------------------------

PAYOUT_RULE = "instant_payouts"


def payout_decide(
    *, payout: PayoutDescription, limit: int | None, connectors: Mapping[str, ConnectorProfile],
    breakers: Mapping[str, BreakerState],
) -> RoutingDecision:
    """Whether a payout goes by the instant rail (one candidate) or in the payment file (none).

    The rail takes a payout of at most ``limit`` (the currency's instant payout limit; None: the
    currency never goes instant) when an instant connector of the payout's mode is eligible for
    it (enabled, its currency, country and amount limits) and its breaker is closed. A half-open
    breaker is no place for a payout: probes are for payments, which fail over; a payout in
    doubt would sit in transit. Never a card acquirer, a wire or the wallets: only the rail
    credits an account at once. Candidates are tried in name order (the first eligible wins).
    """
    def to_file(reason: str, excluded: Mapping[str, str] | None = None) -> RoutingDecision:
        return RoutingDecision(candidates=(), strategy=Strategy.PRIORITY.value, rule=PAYOUT_RULE,
                               reason=f"Payment file: {reason}.", excluded=dict(excluded or {}))

    if limit is None:
        return to_file(f"no instant payout limit is set for {payout.currency}")
    if payout.amount > limit:
        return to_file(f"{payout.amount} {payout.currency} minor units is above the instant payout limit of {limit}")
    as_payment = PaymentDescription(
        payment_id=payout.payout_id, merchant_id=payout.merchant_id, amount=payout.amount, currency=payout.currency,
        method=Method.INSTANT, country=payout.country, livemode=payout.livemode,
    )
    excluded: dict[str, str] = {}
    for name in sorted(connectors):
        connector = connectors[name]
        if connector.method != Method.INSTANT:
            continue
        if (why := ineligibility(connector, as_payment)) is not None:
            excluded[name] = why
        elif breakers.get(name, BreakerState.CLOSED) != BreakerState.CLOSED:
            excluded[name] = f"circuit {breakers[name].value.replace('_', '-')}"
        else:
            return RoutingDecision(
                candidates=(name,), strategy=Strategy.PRIORITY.value, rule=PAYOUT_RULE, excluded=excluded,
                reason=f"Instant rail {name}: at or below the instant payout limit of {limit} {payout.currency} "
                       "minor units.",
            )
    why = "; ".join(f"{name}: {reason}" for name, reason in excluded.items()) or (
        f"no {mode_label(payout.livemode)} instant rail connector")
    return to_file(f"no instant rail can take it ({why})", excluded)


# --- retryability -------------------------------------------------------------------------


class ErrorClass(StrEnum):
    RETRYABLE = "retryable"
    HARD = "hard"


def is_retryable(outcome: Outcome, error_code: str, error_codes: Mapping[str, str]) -> bool:
    """Whether a failed attempt may fail over to the next connector, from the connector's
    error-code map. Unlisted codes: an error (nothing happened at the connector) is retryable,
    a decline is not. Approvals, pending and unknown outcomes never are."""
    if outcome not in (Outcome.DECLINED, Outcome.ERROR):
        return False
    listed = error_codes.get(error_code)
    if listed is not None:
        return listed == ErrorClass.RETRYABLE
    return outcome == Outcome.ERROR
