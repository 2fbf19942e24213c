"""The pure routing domain: eligibility, rules, draws, scoring, the breaker and retryability."""

import uuid
from decimal import Decimal

import pytest

from apps.routing.data import Method, Outcome
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
    default_rule,
    ineligibility,
    is_breaker_failure,
    is_retryable,
    rule_matches,
    rule_select,
    success_rate,
    success_rate_order,
    unit_draw,
    volume_split_order,
)
from tests.routing.conftest import describe

ALPHA = ConnectorProfile("alpha", Method.CARD, frozenset({"BHD", "USD"}))
BETA = ConnectorProfile("beta", Method.CARD, frozenset({"BHD"}), countries=frozenset({"BH", "SA"}),
                        amount_limits={"BHD": (100, 5_000)})
FAWRI = ConnectorProfile("fawri", Method.INSTANT, frozenset({"BHD"}), amount_limits={"BHD": (None, 1_000_000)})
PAYMENT_ID = uuid.UUID("01936f3e-0000-7000-8000-000000000001")


# --- eligibility --------------------------------------------------------------------------


def test_an_eligible_connector_has_no_reason_against_it():
    assert ineligibility(ALPHA, describe(amount=1, currency="USD", country="JP")) is None


@pytest.mark.parametrize(
    ("connector", "payment", "reason"),
    [
        (ConnectorProfile("off", Method.CARD, frozenset({"BHD"}), enabled=False), describe(), "disabled"),
        (FAWRI, describe(method=Method.CARD), "takes instant payments, not card"),
        (ALPHA, describe(currency="EUR"), "does not take EUR"),
        (BETA, describe(country="AE", amount=200), "does not serve AE"),
        (BETA, describe(amount=99), "amount below its minimum of 100 BHD minor units"),
        (BETA, describe(amount=5_001), "amount above its maximum of 5000 BHD minor units"),
        (FAWRI, describe(method=Method.INSTANT, amount=1_000_001),
         "amount above its maximum of 1000000 BHD minor units"),
    ],
)
def test_each_ineligibility_is_named(connector, payment, reason):
    assert ineligibility(connector, payment) == reason


def test_amount_bounds_are_inclusive_and_per_currency():
    assert ineligibility(BETA, describe(amount=100)) is None
    assert ineligibility(BETA, describe(amount=5_000)) is None
    assert ineligibility(FAWRI, describe(method=Method.INSTANT, amount=1_000_000)) is None


# --- rules --------------------------------------------------------------------------------


def test_an_empty_rule_matches_any_payment_and_a_disabled_one_none():
    assert rule_matches(Rule("any", ("alpha",)), describe())
    assert not rule_matches(Rule("off", ("alpha",), enabled=False), describe())


def test_every_condition_must_hold():
    merchant = uuid.uuid4()
    rule = Rule(
        "big-pos", ("alpha",), methods=frozenset({"card"}), currencies=frozenset({"BHD"}),
        countries=frozenset({"BH"}), merchant_ids=frozenset({merchant}), min_amount=1_000, max_amount=2_000,
        metadata={"channel": "pos"},
    )
    matching = {"merchant_id": merchant, "amount": 1_500, "metadata": {"channel": "pos", "till": 3}}
    assert rule_matches(rule, describe(**matching))
    assert rule_matches(rule, describe(**{**matching, "amount": 1_000}))
    assert rule_matches(rule, describe(**{**matching, "amount": 2_000}))
    for spoiler in ({"method": Method.WALLET}, {"currency": "USD"}, {"country": "SA"}, {"merchant_id": uuid.uuid4()},
                    {"merchant_id": None}, {"amount": 999}, {"amount": 2_001}, {"metadata": {"channel": "web"}},
                    {"metadata": {}}):
        assert not rule_matches(rule, describe(**{**matching, **spoiler})), spoiler


def test_metadata_compares_as_text():
    rule = Rule("till", ("alpha",), metadata={"till": "3"})
    assert rule_matches(rule, describe(metadata={"till": 3}))


def test_the_first_matching_rule_wins():
    rules = [Rule("usd", ("alpha",), currencies=frozenset({"USD"})), Rule("cards", ("beta",)), Rule("all", ("x",))]
    assert rule_select(rules, describe()).name == "cards"
    assert rule_select(rules, describe(currency="USD")).name == "usd"
    assert rule_select(rules[:1], describe()) is None


def test_the_default_rule_ranks_every_connector_of_the_method():
    rule = default_rule([BETA, FAWRI, ALPHA], describe(), Decimal("0.1"))
    assert rule.connectors == ("alpha", "beta")
    assert rule.strategy == Strategy.SUCCESS_RATE
    assert rule.exploration_share == Decimal("0.1")


# --- draws --------------------------------------------------------------------------------


def test_draws_are_fixed_by_payment_and_salt():
    assert unit_draw(PAYMENT_ID, "a") == unit_draw(PAYMENT_ID, "a")
    assert unit_draw(PAYMENT_ID, "a") != unit_draw(PAYMENT_ID, "b")
    assert Decimal(0) <= unit_draw(PAYMENT_ID, "a") < Decimal(1)


def test_a_volume_split_puts_the_drawn_connector_first_and_the_rest_by_weight():
    weighted = [("a", 10), ("b", 30), ("c", 60)]
    order = volume_split_order(weighted, PAYMENT_ID, "rule")
    assert order == volume_split_order(weighted, PAYMENT_ID, "rule")
    assert sorted(order) == ["a", "b", "c"]
    rest = [name for name in ("c", "b", "a") if name != order[0]]
    assert list(order[1:]) == rest


def test_a_zero_weight_is_never_drawn_but_stays_as_failover():
    for _ in range(200):
        order = volume_split_order([("a", 0), ("b", 1)], uuid.uuid4(), "rule")
        assert order == ("b", "a")


def test_all_zero_weights_keep_the_given_order():
    assert volume_split_order([("a", 0), ("b", 0)], PAYMENT_ID, "rule") == ("a", "b")


# --- scoring ------------------------------------------------------------------------------


def test_success_rate_is_smoothed():
    assert success_rate(WindowCounts()) == 0.5
    assert success_rate(WindowCounts(approved=8, declined=1, failed=1)) == 9 / 12
    assert success_rate(WindowCounts(failed=3)) == 1 / 5


def test_success_rate_order_ranks_best_first_and_keeps_ties_in_configured_order():
    order, explored = success_rate_order({"a": 0.5, "b": 0.9, "c": 0.5}, ["a", "b", "c"], PAYMENT_ID, Decimal(0), "r")
    assert (order, explored) == (("b", "a", "c"), False)


def test_exploration_puts_another_connector_first_for_its_share_of_payments():
    order, explored = success_rate_order({"a": 0.9, "b": 0.1}, ["a", "b"], PAYMENT_ID, Decimal(1), "r")
    assert (order, explored) == (("b", "a"), True)
    order, explored = success_rate_order({"a": 0.9}, ["a"], PAYMENT_ID, Decimal(1), "r")
    assert (order, explored) == (("a",), False)


# --- breaker ------------------------------------------------------------------------------

POLICY = BreakerPolicy(window_seconds=60, min_samples=4, failure_ratio=Decimal("0.5"), open_seconds=30)


def test_a_closed_breaker_opens_once_enough_samples_fail_enough():
    closed = BreakerRecord()
    assert breaker_transition(closed, failure=True, window_total=3, window_failures=3, policy=POLICY,
                              now_ms=1_000) is None
    assert breaker_transition(closed, failure=True, window_total=4, window_failures=1, policy=POLICY,
                              now_ms=1_000) is None
    assert breaker_transition(closed, failure=True, window_total=4, window_failures=2, policy=POLICY,
                              now_ms=1_000) == BreakerRecord(BreakerState.OPEN, 31_000)


def test_a_success_never_opens_a_closed_breaker():
    assert breaker_transition(BreakerRecord(), failure=False, window_total=10, window_failures=9, policy=POLICY,
                              now_ms=0) is None


def test_an_open_breaker_turns_half_open_when_its_time_is_up():
    opened = BreakerRecord(BreakerState.OPEN, 31_000)
    assert breaker_state_at(opened, 30_999) == BreakerState.OPEN
    assert breaker_state_at(opened, 31_000) == BreakerState.HALF_OPEN
    assert breaker_transition(opened, failure=True, window_total=9, window_failures=9, policy=POLICY,
                              now_ms=30_000) is None


def test_a_half_open_breaker_closes_on_success_and_reopens_on_failure():
    opened = BreakerRecord(BreakerState.OPEN, 31_000)
    assert breaker_transition(opened, failure=False, window_total=1, window_failures=0, policy=POLICY,
                              now_ms=40_000) == BreakerRecord(BreakerState.CLOSED)
    assert breaker_transition(opened, failure=True, window_total=1, window_failures=1, policy=POLICY,
                              now_ms=40_000) == BreakerRecord(BreakerState.OPEN, 70_000)


def test_only_technical_failures_count_against_the_breaker():
    assert [is_breaker_failure(o) for o in Outcome] == [False, False, False, True, True]


# --- retryability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "code", "retryable"),
    [
        (Outcome.DECLINED, "do_not_honor", False),
        (Outcome.DECLINED, "soft_decline", True),
        (Outcome.DECLINED, "unlisted", False),
        (Outcome.ERROR, "processor_unavailable", True),
        (Outcome.ERROR, "bad_request", False),
        (Outcome.ERROR, "unlisted", True),
        (Outcome.UNKNOWN, "timeout", False),
        (Outcome.UNKNOWN, "soft_decline", False),
        (Outcome.APPROVED, "", False),
        (Outcome.PENDING, "", False),
    ],
)
def test_retryability_follows_the_error_code_map(outcome, code, retryable):
    codes = {"do_not_honor": "hard", "soft_decline": "retryable", "processor_unavailable": "retryable",
             "bad_request": "hard"}
    assert is_retryable(outcome, code, codes) is retryable


# --- the decision -------------------------------------------------------------------------

PROFILES = {profile.name: profile for profile in (ALPHA, BETA, FAWRI)}


def test_a_priority_rule_keeps_its_order_and_names_what_it_left_out():
    rule = Rule("cards", ("beta", "fawri", "alpha", "ghost"))
    decision = decide(payment=describe(amount=50), rule=rule, connectors=PROFILES, health={})
    assert decision.candidates == ("alpha",)
    assert decision.excluded == {
        "beta": "amount below its minimum of 100 BHD minor units",
        "fawri": "takes instant payments, not card",
        "ghost": "unknown connector",
    }
    assert decision.reason == "rule cards: priority order."
    assert (decision.rule, decision.strategy, decision.scores, decision.explored) == ("cards", "priority", {}, False)


def test_open_circuits_busy_probes_and_tried_connectors_are_excluded():
    rule = Rule("cards", ("alpha", "beta"))
    decision = decide(payment=describe(amount=200), rule=rule, connectors=PROFILES,
                      health={"alpha": Health(Admission.OPEN), "beta": Health(Admission.PROBE_BUSY)})
    assert decision.candidates == ()
    assert decision.excluded == {"alpha": "circuit open", "beta": "circuit half-open, a probe is in flight"}
    assert decision.reason == ("No connector is eligible (rule cards): alpha: circuit open; "
                               "beta: circuit half-open, a probe is in flight.")
    decision = decide(payment=describe(amount=200), rule=rule, connectors=PROFILES, health={}, exclude={"alpha"})
    assert decision.candidates == ("beta",)
    assert decision.excluded == {"alpha": "already tried for this payment"}


def test_a_probe_is_routed_and_said():
    decision = decide(payment=describe(amount=200), rule=Rule("cards", ("alpha", "beta")), connectors=PROFILES,
                      health={"beta": Health(Admission.PROBE)})
    assert decision.candidates == ("beta", "alpha")
    assert decision.reason == "rule cards: priority order. Half-open circuit probed first: beta."


def test_success_rate_decisions_carry_their_scores():
    rule = Rule("cards", ("alpha", "beta"), strategy=Strategy.SUCCESS_RATE)
    decision = decide(payment=describe(amount=200), rule=rule, connectors=PROFILES,
                      health={"alpha": Health(score=0.4), "beta": Health(score=0.8)})
    assert decision.candidates == ("beta", "alpha")
    assert decision.scores == {"alpha": 0.4, "beta": 0.8}
    assert decision.reason == "rule cards: highest success rate first (beta 80%, alpha 40%)."
    assert decision.as_dict()["scores"] == {"alpha": 0.4, "beta": 0.8}


def test_a_volume_split_reason_names_the_draw():
    rule = Rule("split", ("alpha", "beta"), strategy=Strategy.VOLUME_SPLIT, weights=(0, 5))
    decision = decide(payment=describe(amount=200), rule=rule, connectors=PROFILES, health={})
    assert decision.candidates == ("beta", "alpha")
    assert decision.reason == "rule split: volume split drew beta (weight 5/5)."


def test_the_default_rule_says_no_rule_matched():
    rule = default_rule(PROFILES.values(), describe(method=Method.INSTANT, amount=5), Decimal(0))
    decision = decide(payment=describe(method=Method.INSTANT, amount=5), rule=rule, connectors=PROFILES, health={})
    assert decision.candidates == ("fawri",)
    assert decision.rule == "default"
    assert decision.reason.startswith("no rule matched, default: highest success rate first")
