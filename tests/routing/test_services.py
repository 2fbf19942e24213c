"""Routing services against PostgreSQL and Redis: the seeded set-up, decisions, health windows,
the circuit breaker, and audited changes to connectors and rules."""

import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.routing import selectors, services
from apps.routing.data import ConnectorResult, Method, Outcome
from apps.routing.exceptions import ConnectorHealthUnavailable
from apps.routing.models import Connector, RoutingRule
from tests.routing.conftest import ACTOR, configure, describe

pytestmark = pytest.mark.django_db

APPROVED = ConnectorResult(Outcome.APPROVED, reference="r")
DECLINED = ConnectorResult(Outcome.DECLINED, error_code="do_not_honor")
ERROR = ConnectorResult(Outcome.ERROR, error_code="processor_unavailable", retryable=True)
UNKNOWN = ConnectorResult(Outcome.UNKNOWN, error_code="timeout")


def noon() -> datetime:
    """Noon (UTC) tomorrow: the health windows' buckets start on it, and it is later than every row
    a test (or its fixtures) wrote before travelling there."""
    return (clock.now() + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def record(connector: str, result: ConnectorResult, times: int = 1, **payment) -> None:
    for _ in range(times):
        services.connector_result_record(connector=connector, description=describe(**payment), result=result)


# --- the seeded set-up --------------------------------------------------------------------


def test_migrate_seeds_the_sandbox_connectors_and_default_rules():
    assert selectors.connector_names() == [
        "acquirer_alpha", "acquirer_beta", "fawri_instant", "swift_wire", "wallet", "wallet_live"]
    assert {name: selectors.connector_method(name) for name in selectors.connector_names()} == {
        "acquirer_alpha": Method.CARD, "acquirer_beta": Method.CARD, "fawri_instant": Method.INSTANT,
        "swift_wire": Method.WIRE, "wallet": Method.WALLET, "wallet_live": Method.WALLET,
    }
    # The sandbox serves test payments only; fincore's own wallets have a live connector too.
    assert list(Connector.objects.filter(livemode=True).values_list("name", flat=True)) == ["wallet_live"]
    assert not RoutingRule.objects.filter(livemode=True).exists()
    gcc = ["BHD", "SAR", "AED", "KWD", "QAR", "OMR", "USD", "EUR"]
    assert Connector.objects.get(name="acquirer_alpha").currencies == gcc
    assert Connector.objects.get(name="acquirer_beta").currencies == gcc
    assert Connector.objects.get(name="fawri_instant").amount_limits == {"BHD": {"min": 1, "max": 1_000_000}}
    assert list(RoutingRule.objects.values_list("name", "strategy", "connectors")) == [
        ("cards", "success_rate", ["acquirer_alpha", "acquirer_beta"]),
        ("instant", "priority", ["fawri_instant"]),
        ("wire", "priority", ["swift_wire"]),
        ("wallet", "priority", ["wallet"]),
    ]


@pytest.mark.parametrize(
    ("payment", "candidates", "rule"),
    [
        ({"method": Method.INSTANT}, ("fawri_instant",), "instant"),
        ({"method": Method.WIRE, "currency": "GBP"}, ("swift_wire",), "wire"),
        ({"method": Method.WALLET}, ("wallet",), "wallet"),
        ({"method": Method.INSTANT, "currency": "USD"}, (), "instant"),
        ({"method": Method.INSTANT, "amount": 1_000_001}, (), "instant"),
    ],
)
def test_each_method_goes_to_its_rail(payment, candidates, rule):
    decision = services.route(description=describe(**payment))
    assert (decision.candidates, decision.rule) == (candidates, rule)


def test_cards_go_to_both_acquirers_for_every_gulf_currency(no_exploration):
    for currency in ("BHD", "SAR", "AED", "KWD", "QAR", "OMR", "USD", "EUR"):
        decision = services.route(description=describe(currency=currency))
        assert decision.candidates == ("acquirer_alpha", "acquirer_beta")
        assert decision.scores == {"acquirer_alpha": 0.5, "acquirer_beta": 0.5}


def test_the_same_payment_is_routed_the_same_way():
    payment = describe()
    assert services.route(description=payment) == services.route(description=payment)


def test_excluded_and_disabled_connectors_are_left_out_with_their_reason(no_exploration):
    configure("acquirer_beta", enabled=False)
    decision = services.route(description=describe(), exclude={"acquirer_alpha"})
    assert decision.candidates == ()
    assert decision.excluded == {"acquirer_alpha": "already tried for this payment", "acquirer_beta": "disabled"}
    assert decision.reason == ("No connector is eligible (rule cards): acquirer_alpha: already tried for this "
                               "payment; acquirer_beta: disabled.")


def test_a_payment_no_rule_matches_falls_back_to_its_methods_connectors():
    RoutingRule.objects.filter(name="instant").update(enabled=False)
    decision = services.route(description=describe(method=Method.INSTANT))
    assert (decision.rule, decision.candidates) == ("default", ("fawri_instant",))


# --- success rates ------------------------------------------------------------------------


def test_the_better_acquirer_goes_first(no_exploration):
    record("acquirer_beta", APPROVED, 9)
    record("acquirer_beta", DECLINED, 1)
    record("acquirer_alpha", APPROVED, 5)
    record("acquirer_alpha", DECLINED, 4)
    record("acquirer_alpha", ERROR, 1)
    decision = services.route(description=describe())
    assert decision.candidates == ("acquirer_beta", "acquirer_alpha")
    assert decision.scores == {"acquirer_alpha": 6 / 12, "acquirer_beta": 10 / 12}
    assert decision.reason == "rule cards: highest success rate first (acquirer_beta 83%, acquirer_alpha 50%)."


def test_success_rates_are_kept_per_currency(no_exploration):
    record("acquirer_alpha", DECLINED, 10, currency="USD")
    assert services.route(description=describe(currency="USD")).candidates[0] == "acquirer_beta"
    assert services.route(description=describe(currency="BHD")).candidates[0] == "acquirer_alpha"


def test_results_leave_the_window_after_ten_minutes(no_exploration, time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    record("acquirer_alpha", DECLINED, 10)
    assert services.route(description=describe()).candidates[0] == "acquirer_beta"
    time_machine.move_to(start + timedelta(minutes=10, seconds=30), tick=False)
    assert services.route(description=describe()).scores == {"acquirer_alpha": 0.5, "acquirer_beta": 0.5}


def test_pending_results_are_not_counted():
    record("swift_wire", ConnectorResult(Outcome.PENDING, reference="w"), 3, method=Method.WIRE, currency="USD")
    assert selectors.connector_statuses(["swift_wire"])["swift_wire"].attempts == 0


def test_recording_for_an_unknown_connector_is_refused():
    with pytest.raises(services.UnknownConnector):
        record("ghost", APPROVED)


# --- the circuit breaker ------------------------------------------------------------------


def breaker(name: str = "acquirer_alpha") -> str:
    return selectors.connector_statuses([name])[name].breaker


def test_failures_open_the_breaker_and_the_connector_is_left_out(no_exploration, time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=4, breaker_failure_ratio=Decimal("0.5"))
    record("acquirer_alpha", APPROVED, 2)
    record("acquirer_alpha", ERROR, 1)
    assert breaker() == "closed"
    record("acquirer_alpha", UNKNOWN, 1)
    assert breaker() == "open"
    decision = services.route(description=describe())
    assert decision.candidates == ("acquirer_beta",)
    assert decision.excluded == {"acquirer_alpha": "circuit open"}


def test_declines_never_open_the_breaker(time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=2)
    record("acquirer_alpha", DECLINED, 20)
    assert breaker() == "closed"


def test_the_breaker_window_forgets_old_failures(time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=4, breaker_window_seconds=10)
    record("acquirer_alpha", ERROR, 3)
    time_machine.move_to(start + timedelta(seconds=20), tick=False)
    record("acquirer_alpha", ERROR, 1)
    assert breaker() == "closed"


def test_half_open_admits_one_probe_then_closes_on_success(no_exploration, time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=2, breaker_open_seconds=30)
    record("acquirer_alpha", ERROR, 2)
    assert breaker() == "open"
    time_machine.move_to(start + timedelta(seconds=30), tick=False)
    assert breaker() == "half_open"

    probe = services.route(description=describe())
    second = services.route(description=describe())
    preview = services.route(description=describe(), claim_probes=False)

    assert probe.candidates == ("acquirer_alpha", "acquirer_beta")  # first, though its score is low
    assert probe.scores["acquirer_alpha"] < probe.scores["acquirer_beta"]
    assert probe.reason.endswith("Half-open circuit probed first: acquirer_alpha.")
    assert second.excluded == {"acquirer_alpha": "circuit half-open, a probe is in flight"}
    assert "acquirer_alpha" in preview.candidates
    record("acquirer_alpha", APPROVED)
    assert breaker() == "closed"
    assert services.route(description=describe()).excluded == {}


def test_a_failed_probe_opens_the_breaker_again(time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=2, breaker_open_seconds=30)
    record("acquirer_alpha", ERROR, 2)
    time_machine.move_to(start + timedelta(seconds=31), tick=False)
    services.route(description=describe())
    record("acquirer_alpha", ERROR)
    status = selectors.connector_statuses(["acquirer_alpha"])["acquirer_alpha"]
    assert status.breaker == "open"
    assert status.open_until_ms == int((start + timedelta(minutes=1, seconds=1)).timestamp() * 1000)
    time_machine.move_to(start + timedelta(minutes=1, seconds=1), tick=False)
    assert breaker() == "half_open"


def test_a_probe_that_never_reports_lapses_after_the_open_duration(time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=1, breaker_open_seconds=1)
    record("acquirer_alpha", ERROR)
    time_machine.move_to(start + timedelta(seconds=1), tick=False)
    assert "acquirer_alpha" in services.route(description=describe()).candidates
    assert "acquirer_alpha" not in services.route(description=describe()).candidates
    time.sleep(1.1)  # the claim's expiry is Redis's own clock
    assert "acquirer_alpha" in services.route(description=describe()).candidates


def test_staff_can_reset_a_breaker_and_it_is_journaled(time_machine):
    start = noon()
    time_machine.move_to(start, tick=False)
    configure("acquirer_alpha", breaker_min_samples=1)
    record("acquirer_alpha", ERROR)
    services.breaker_reset(name="acquirer_alpha", actor=ACTOR, reason="acquirer confirmed the fix")
    assert breaker() == "closed"
    event = AuditEvent.objects.get(action="connector.breaker_reset")
    assert (event.before, event.after, event.reason) == ({"breaker": "open"}, {"breaker": "closed"},
                                                         "acquirer confirmed the fix")


@override_settings(CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:1/0",
                                       "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2}}})
def test_routing_works_without_redis(no_exploration, caplog):
    record("acquirer_alpha", ERROR, 20)
    decision = services.route(description=describe())
    assert decision.candidates == ("acquirer_alpha", "acquirer_beta")
    assert "redis unavailable" in caplog.text


def test_a_breaker_reset_without_redis_is_refused_and_not_journaled():
    with override_settings(CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache",
                                               "LOCATION": "redis://127.0.0.1:1/0",
                                               "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2}}}), \
            pytest.raises(ConnectorHealthUnavailable, match="acquirer_alpha was not reset"):
        services.breaker_reset(name="acquirer_alpha", actor=ACTOR, reason="acquirer confirmed the fix")
    assert not AuditEvent.objects.filter(action="connector.breaker_reset").exists()


# --- adapters and methods -----------------------------------------------------------------


def test_unknown_connectors_are_refused_by_name():
    with pytest.raises(services.UnknownConnector, match="'ghost'"):
        selectors.connector_adapter("ghost")
    with pytest.raises(selectors.UnknownConnector):
        selectors.connector_method("ghost")


def test_a_disabled_connector_still_answers_inquiries():
    configure("acquirer_alpha", enabled=False)
    assert selectors.connector_adapter("acquirer_alpha").name == "acquirer_alpha"


# --- connector changes --------------------------------------------------------------------


def test_a_connector_change_is_saved_and_journaled_with_before_and_after():
    services.connector_update(
        name="acquirer_beta", changes={"outage_rate": Decimal("0.25"), "latency_ms": 60}, actor=ACTOR,
        reason="drill",
    )
    connector = Connector.objects.get(name="acquirer_beta")
    assert connector.outage_rate == Decimal("0.2500")
    event = AuditEvent.objects.get(action="connector.updated")
    assert (event.before, event.after, event.reason, event.object_id) == (
        {"outage_rate": "0.0000"}, {"outage_rate": "0.2500"}, "drill", str(connector.pk))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"outage_rate": Decimal("1.5")}, "outage rate must be from 0 to 1 with at most 4 decimals, not 1.5"),
        ({"decline_rate": Decimal("0.00001")}, "decline rate must be from 0 to 1 with at most 4 decimals"),
        ({"currencies": ["BHD", "XYZ"]}, "'XYZ' is not an ISO 4217 currency code"),
        ({"currencies": []}, "at least one currency is needed"),
        ({"countries": ["ZZ"]}, "'ZZ' is not an ISO 3166 country code"),
        ({"amount_limits": {"JPY": {"max": 1}}}, "amount limits name JPY, which the connector does not take"),
        ({"amount_limits": {"BHD": {"min": 5, "max": 1}}}, "the min amount of BHD is above its max"),
        ({"amount_limits": {"BHD": {"min": -1}}}, "the min amount of BHD must be a whole number of at least 0"),
        ({"error_codes": {"do_not_honor": "maybe"}}, "error code 'do_not_honor' must map to 'retryable' or 'hard'"),
        ({"latency_ms": 10**6}, "latency_ms must be a whole number of at least 0 and at most 120000"),
        ({"breaker_min_samples": 0}, "breaker min samples must be a whole number of at least 1"),
        ({"method": "wire"}, "these fields cannot be changed: method"),
    ],
)
def test_invalid_connector_settings_are_refused_and_nothing_changes(changes, problem):
    before = Connector.objects.values().get(name="acquirer_alpha")
    with pytest.raises((services.InvalidConnector,)) as refused:
        services.connector_update(name="acquirer_alpha", changes=changes, actor=ACTOR, reason="x")
    assert problem in refused.value.detail
    assert Connector.objects.values().get(name="acquirer_alpha") == before
    assert not AuditEvent.objects.filter(action="connector.updated").exists()


def test_an_unknown_connector_cannot_be_configured():
    with pytest.raises(services.UnknownConnector):
        services.connector_update(name="ghost", changes={"latency_ms": 1}, actor=ACTOR, reason="x")


def test_a_new_connector_is_created_routable_and_journaled(no_exploration):
    services.connector_create(
        fields={"name": "acquirer_gamma", "display_name": "Gamma", "adapter": "card_acquirer", "method": "card",
                "currencies": ["BHD"]},
        actor=ACTOR, reason="new acquirer",
    )
    rule = RoutingRule.objects.get(name="cards")
    services.routing_rule_update(rule_id=rule.pk, changes={"connectors": [*rule.connectors, "acquirer_gamma"]},
                                 actor=ACTOR, reason="add gamma")
    assert services.route(description=describe()).candidates == ("acquirer_alpha", "acquirer_beta", "acquirer_gamma")
    assert AuditEvent.objects.get(action="connector.created").after["name"] == "acquirer_gamma"


def test_a_connector_must_be_of_its_simulators_method():
    with pytest.raises(services.InvalidConnector, match="a wire connector is a wire connector, not card"):
        services.connector_create(
            fields={"name": "x", "display_name": "X", "adapter": "wire", "method": "card", "currencies": ["USD"]},
            actor=ACTOR, reason="x",
        )


# --- rules --------------------------------------------------------------------------------


def test_a_volume_split_rule_routes_by_weight():
    services.routing_rule_create(
        fields={"name": "usd-split", "position": 5, "currencies": ["USD"], "strategy": "volume_split",
                "connectors": ["acquirer_alpha", "acquirer_beta"], "weights": [0, 1]},
        actor=ACTOR, reason="beta gets USD",
    )
    decision = services.route(description=describe(currency="USD"))
    assert (decision.rule, decision.strategy, decision.candidates) == (
        "usd-split", "volume_split", ("acquirer_beta", "acquirer_alpha"))
    assert AuditEvent.objects.get(action="routing_rule.created").reason == "beta gets USD"


def test_merchant_and_metadata_rules():
    merchant_id = uuid.uuid4()
    services.routing_rule_create(
        fields={"name": "vip", "position": 1, "merchant_ids": [merchant_id], "metadata": {"channel": "pos"},
                "connectors": ["acquirer_beta"]},
        actor=ACTOR, reason="x",
    )
    assert services.route(description=describe(merchant_id=merchant_id, metadata={"channel": "pos"})).rule == "vip"
    assert services.route(description=describe(merchant_id=merchant_id)).rule == "cards"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"connectors": ["ghost"]}, "there is no connector named 'ghost'"),
        ({"connectors": ["acquirer_alpha", "acquirer_alpha"]}, "a connector is listed twice"),
        ({"methods": ["card"], "connectors": ["swift_wire"]},
         "swift_wire is a wire connector, which this rule's methods never route to"),
        ({"methods": ["cheque"]}, "'cheque' is not a payment method"),
        ({"strategy": "volume_split", "weights": [1]}, "a volume split needs one weight per connector (2), not 1"),
        ({"strategy": "volume_split", "weights": [0, 0]}, "weights must be whole numbers of at least 0, not all 0"),
        ({"weights": [1, 1]}, "weights are for a volume split only"),
        ({"min_amount": 10}, "an amount range needs exactly one currency"),
        ({"currencies": ["BHD"], "min_amount": 10, "max_amount": 5}, "the min amount is above the max amount"),
        ({"metadata": {"x": 1.5}}, "metadata must be an object of keys to text"),
        ({"exploration_share": Decimal("2")}, "the exploration share must be from 0 to 1"),
        ({"strategy": "random"}, "'random' is not a strategy"),
    ],
)
def test_invalid_rules_are_refused(fields, problem):
    with pytest.raises(services.InvalidRoutingRule) as refused:
        services.routing_rule_create(
            fields={"name": "bad", "position": 99, "connectors": ["acquirer_alpha", "acquirer_beta"], **fields},
            actor=ACTOR, reason="x",
        )
    assert problem in refused.value.detail
    assert not RoutingRule.objects.filter(name="bad").exists()
