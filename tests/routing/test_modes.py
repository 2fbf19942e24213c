"""Live and test money are routed apart: each connector and rule serves one mode, the sandbox
simulators serve test payments only, and a live payment never reaches a sandbox."""

import pytest
from django.db import IntegrityError, transaction

from apps.routing import domain, selectors, services
from apps.routing.data import Method
from apps.routing.exceptions import InvalidConnector, InvalidRoutingRule
from apps.routing.models import Connector, RoutingRule
from tests.routing.conftest import ACTOR, describe

pytestmark = pytest.mark.django_db

CARD = domain.ConnectorProfile("alpha", Method.CARD, frozenset({"BHD"}))
LIVE_CARD = domain.ConnectorProfile("live_alpha", Method.CARD, frozenset({"BHD"}), livemode=True)


def test_a_connector_serves_the_payments_of_its_own_mode_only():
    assert domain.ineligibility(CARD, describe()) is None
    assert domain.ineligibility(CARD, describe(livemode=True)) == "serves test payments only"
    assert domain.ineligibility(LIVE_CARD, describe()) == "serves live payments only"
    assert domain.ineligibility(LIVE_CARD, describe(livemode=True)) is None


def test_a_rule_routes_the_payments_of_its_own_mode_only():
    live_rule = domain.Rule("live-cards", ("live_alpha",), livemode=True)
    test_rule = domain.Rule("cards", ("alpha",))

    assert domain.rule_select([live_rule, test_rule], describe()) == test_rule
    assert domain.rule_select([live_rule, test_rule], describe(livemode=True)) == live_rule
    assert domain.default_rule([CARD, LIVE_CARD], describe(livemode=True), exploration_share=0).connectors == (
        "live_alpha",)


def test_a_live_card_payment_finds_no_connector_and_says_why():
    decision = selectors.route_preview(describe(livemode=True))

    assert decision.candidates == ()
    assert decision.rule == "default"
    assert decision.reason == (
        "No connector is eligible (no rule matched, default): no live connector takes card payments.")
    assert services.route(description=describe(livemode=True)).candidates == ()


def test_a_test_card_payment_is_routed_to_the_sandbox_and_a_live_wallet_payment_to_the_live_wallet():
    assert set(selectors.route_preview(describe()).candidates) == {"acquirer_alpha", "acquirer_beta"}
    assert services.route(description=describe(method=Method.WALLET, livemode=True)).candidates == ("wallet_live",)
    assert services.route(description=describe(method=Method.WALLET)).candidates == ("wallet",)


def test_a_simulated_rail_cannot_be_made_live():
    fields = {"name": "acquirer_live", "display_name": "Live?", "adapter": "card_acquirer", "method": "card",
              "livemode": True, "currencies": ["BHD"]}

    with pytest.raises(InvalidConnector, match="serves test payments only"):
        services.connector_create(fields=fields, actor=ACTOR, reason="try")
    # Nor by any writer that bypasses the service: the database refuses it.
    with pytest.raises(IntegrityError, match="connector_simulators_test_only"), transaction.atomic():
        Connector.objects.create(**fields)


def test_a_live_connector_simulates_nothing():
    fields = {"name": "wallet_live_slow", "display_name": "Slow", "adapter": "wallet", "method": "wallet",
              "livemode": True, "currencies": ["BHD"], "latency_ms": 50}

    with pytest.raises(InvalidConnector, match="latency ms must be 0"):
        services.connector_create(fields=fields, actor=ACTOR, reason="try")
    with pytest.raises(IntegrityError, match="connector_live_simulates_nothing"), transaction.atomic():
        Connector.objects.create(**fields)


def test_a_rule_names_connectors_of_its_own_mode_only():
    fields = {"name": "live-wallets", "livemode": True, "position": 10, "connectors": ["wallet"],
              "strategy": "priority"}

    with pytest.raises(InvalidRoutingRule, match="wallet serves test payments, and this is a live rule"):
        services.routing_rule_create(fields=fields, actor=ACTOR, reason="try")

    # Positions are per mode: the live rule may take the test rule "cards"' position.
    rule = services.routing_rule_create(fields={**fields, "connectors": ["wallet_live"]}, actor=ACTOR, reason="go")
    assert (rule.livemode, rule.position) == (True, 10)
    assert RoutingRule.objects.filter(position=10).count() == 2
    assert services.route(description=describe(method=Method.WALLET, livemode=True)).rule == "live-wallets"
