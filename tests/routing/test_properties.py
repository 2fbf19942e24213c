"""Properties of routing (hypothesis): eligibility is never violated, volume splits converge to
their weights, and success-rate scoring prefers the better connector while still exploring."""

import math
import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.ids import uuid7
from apps.routing import services
from apps.routing.data import Method, PaymentDescription
from apps.routing.domain import (
    Admission,
    BreakerPolicy,
    BreakerRecord,
    BreakerState,
    ConnectorProfile,
    Health,
    Rule,
    Strategy,
    WindowCounts,
    breaker_state_at,
    breaker_transition,
    decide,
    ineligibility,
    success_rate,
    success_rate_order,
    volume_split_order,
)
from apps.routing.models import Connector

CURRENCIES = ["BHD", "USD", "SAR", "JPY"]
COUNTRIES = ["BH", "SA", "AE", "US"]
NAMES = [f"c{n}" for n in range(6)]

currencies = st.sampled_from(CURRENCIES)
methods = st.sampled_from(list(Method))
bounds = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))


@st.composite
def profiles(draw, name: str) -> ConnectorProfile:
    taken = draw(st.sets(currencies, min_size=1))
    limits = {}
    for currency in draw(st.sets(st.sampled_from(sorted(taken)))):
        low, high = draw(bounds), draw(bounds)
        if low is not None and high is not None and low > high:
            low, high = high, low
        limits[currency] = (low, high)
    return ConnectorProfile(
        name=name, method=draw(methods), currencies=frozenset(taken),
        countries=frozenset(draw(st.sets(st.sampled_from(COUNTRIES)))), amount_limits=limits,
        enabled=draw(st.booleans()),
    )


@st.composite
def payments(draw) -> PaymentDescription:
    return PaymentDescription(
        payment_id=draw(st.uuids()), merchant_id=None, amount=draw(st.integers(min_value=1, max_value=12_000)),
        currency=draw(currencies), method=draw(methods), country=draw(st.sampled_from(COUNTRIES)), livemode=False,
    )


@st.composite
def routing_situations(draw):
    connectors = {name: draw(profiles(name)) for name in draw(st.sets(st.sampled_from(NAMES), min_size=1))}
    listed = tuple(draw(st.lists(st.sampled_from([*NAMES, "ghost"]), min_size=1, max_size=6, unique=True)))
    strategy = draw(st.sampled_from(list(Strategy)))
    weights = tuple(draw(st.lists(st.integers(0, 10), min_size=len(listed), max_size=len(listed))))
    rule = Rule("r", listed, strategy=strategy, weights=weights if strategy == Strategy.VOLUME_SPLIT else (),
                exploration_share=draw(st.decimals(0, 1, places=2)))
    health = {
        name: Health(draw(st.sampled_from(list(Admission))), draw(st.floats(0, 1)))
        for name in draw(st.sets(st.sampled_from(NAMES)))
    }
    exclude = draw(st.sets(st.sampled_from(NAMES), max_size=2))
    return draw(payments()), rule, connectors, health, exclude


# --- eligibility is never violated ---------------------------------------------------------


@given(routing_situations())
@settings(max_examples=500)
def test_every_candidate_is_eligible_healthy_untried_and_from_the_rule(situation):
    payment, rule, connectors, health, exclude = situation
    decision = decide(payment=payment, rule=rule, connectors=connectors, health=health, exclude=exclude)

    assert len(set(decision.candidates)) == len(decision.candidates)
    for name in decision.candidates:
        assert name in rule.connectors
        assert name in connectors
        assert ineligibility(connectors[name], payment) is None
        assert connectors[name].enabled
        assert connectors[name].method == payment.method
        assert payment.currency in connectors[name].currencies
        assert name not in exclude
        assert health.get(name, Health()).admission in (Admission.CLOSED, Admission.PROBE)
    # every connector the rule names is either a candidate or excluded with a reason
    assert set(decision.candidates) | set(decision.excluded) == set(rule.connectors)
    assert not set(decision.candidates) & set(decision.excluded)
    assert all(decision.excluded.values())
    assert bool(decision.candidates) or decision.reason.startswith("No connector is eligible")


@pytest.mark.django_db
@given(
    method=methods, currency=st.sampled_from(["BHD", "USD", "KWD", "JPY", "GBP"]),
    amount=st.integers(min_value=1, max_value=3_000_000), country=st.sampled_from(COUNTRIES),
    disabled=st.sets(st.sampled_from(["acquirer_alpha", "acquirer_beta", "fawri_instant", "wallet"])),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_seeded_set_up_never_routes_to_an_ineligible_connector(method, currency, amount, country, disabled):
    Connector.objects.update(enabled=True)
    Connector.objects.filter(name__in=disabled).update(enabled=False)
    payment = PaymentDescription(payment_id=uuid.uuid4(), merchant_id=None, amount=amount, currency=currency,
                                 method=method, country=country, livemode=False)

    decision = services.route(description=payment)

    rows = {connector.name: connector for connector in Connector.objects.all()}
    for name in decision.candidates:
        connector = rows[name]
        assert connector.enabled and connector.method == method and currency in connector.currencies
        limit = connector.amount_limits.get(currency, {})
        assert limit.get("min", 0) <= amount <= limit.get("max", amount)


# --- splits converge to their weights ------------------------------------------------------


def _tolerance(share: float, draws: int) -> float:
    return 5 * math.sqrt(share * (1 - share) / draws) + 0.005


@given(
    weights=st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=4).filter(lambda w: sum(w) > 0),
    seed=st.integers(0, 2**32), time_ordered=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_volume_splits_converge_to_their_weights(weights, seed, time_ordered):
    draws = 4_000
    rng = random.Random(seed)
    weighted = [(f"c{n}", weight) for n, weight in enumerate(weights)]
    firsts = dict.fromkeys((name for name, _ in weighted), 0)
    for _ in range(draws):
        # payment ids are UUIDv7s (time-ordered, sharing their leading bits) or random
        payment_id = uuid7() if time_ordered else uuid.UUID(int=rng.getrandbits(128))
        firsts[volume_split_order(weighted, payment_id, "rule")[0]] += 1
    total = sum(weights)
    for name, weight in weighted:
        share = weight / total
        assert abs(firsts[name] / draws - share) <= _tolerance(share, draws), (name, firsts, weights)
        if weight == 0:
            assert firsts[name] == 0


@given(weights=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=4).filter(lambda w: sum(w) > 0),
       payment_id=st.uuids())
def test_a_split_is_fixed_per_payment_and_lists_every_connector(weights, payment_id):
    weighted = [(f"c{n}", weight) for n, weight in enumerate(weights)]
    order = volume_split_order(weighted, payment_id, "rule")
    assert order == volume_split_order(weighted, payment_id, "rule")
    assert sorted(order) == sorted(name for name, _ in weighted)
    assert dict(weighted)[order[0]] > 0


# --- success-rate scoring prefers the better connector, still exploring --------------------

counts = st.builds(WindowCounts, st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))


@given(
    windows=st.lists(counts, min_size=2, max_size=4).filter(
        lambda w: sorted(map(success_rate, w))[-1] - sorted(map(success_rate, w))[-2] > 0.01),
    exploration=st.decimals(min_value=Decimal("0.02"), max_value=Decimal("0.5"), places=2),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=40, deadline=None)
def test_scoring_prefers_the_better_connector_while_still_exploring(windows, exploration, seed):
    draws = 4_000
    rng = random.Random(seed)
    names = [f"c{n}" for n in range(len(windows))]
    scores = {name: success_rate(window) for name, window in zip(names, windows, strict=True)}
    best = max(names, key=scores.__getitem__)
    firsts = dict.fromkeys(names, 0)
    explored = 0
    for _ in range(draws):
        order, was_explored = success_rate_order(scores, names, uuid.UUID(int=rng.getrandbits(128)), exploration, "r")
        firsts[order[0]] += 1
        explored += was_explored
        assert was_explored == (order[0] != best)
        assert sorted(order) == sorted(names)

    share = float(exploration)
    assert abs(explored / draws - share) <= _tolerance(share, draws)
    assert firsts[best] / draws >= 1 - share - _tolerance(share, draws)
    if share <= 0.4:
        # Near a share of 0.5 with two connectors the best one goes first only about half the
        # time, so "more often than any other" is a draw; the shares asserted around it hold.
        assert firsts[best] > max(count for name, count in firsts.items() if name != best)
    for name in names:
        if name != best:
            each = share / (len(names) - 1)
            assert firsts[name] > 0, "every other connector keeps getting explored"
            assert abs(firsts[name] / draws - each) <= _tolerance(each, draws)


@given(windows=st.lists(counts, min_size=1, max_size=4), payment_id=st.uuids())
def test_without_exploration_the_best_score_always_goes_first(windows, payment_id):
    names = [f"c{n}" for n in range(len(windows))]
    scores = {name: success_rate(window) for name, window in zip(names, windows, strict=True)}
    order, explored = success_rate_order(scores, names, payment_id, Decimal(0), "r")
    assert not explored
    assert [scores[name] for name in order] == sorted(scores.values(), reverse=True)


@given(st.lists(counts, min_size=1), st.data())
def test_a_better_record_never_scores_lower(windows, data):
    for window in windows:
        more = data.draw(st.integers(1, 50))
        assert success_rate(WindowCounts(window.approved + more, window.declined, window.failed)) > success_rate(window)
        assert success_rate(WindowCounts(window.approved, window.declined, window.failed + more)) < success_rate(window)


# --- the breaker only opens on failures ----------------------------------------------------


@given(
    outcomes=st.lists(st.booleans(), max_size=60), min_samples=st.integers(1, 10),
    ratio=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(1), places=2),
)
def test_the_breaker_opens_exactly_when_the_failure_ratio_is_reached(outcomes, min_samples, ratio):
    policy = BreakerPolicy(window_seconds=60, min_samples=min_samples, failure_ratio=ratio, open_seconds=30)
    record, failures = BreakerRecord(), 0
    for total, failure in enumerate(outcomes, start=1):
        failures += failure
        changed = breaker_transition(record, failure=failure, window_total=total, window_failures=failures,
                                     policy=policy, now_ms=0)
        if changed is not None:
            assert failure
            assert total >= min_samples and failures >= ratio * total
            assert changed.state == BreakerState.OPEN
            assert breaker_state_at(changed, 29_999) == BreakerState.OPEN
            assert breaker_state_at(changed, 30_000) == BreakerState.HALF_OPEN
            return
        assert not (failure and total >= min_samples and failures >= ratio * total)
