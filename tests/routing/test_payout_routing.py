"""Payout routing: the instant rail at or below the currency's instant payout limit when an
instant connector of the payout's mode is eligible and its breaker closed, else the file; and the
sandbox rail's payout operation (approved, declined, lost answer, deduplicated by key)."""

import uuid
from decimal import Decimal

import pytest

from apps.routing import domain, health, selectors, services
from apps.routing.adapters.memory import InMemoryNetwork
from apps.routing.adapters.rails import CardAcquirerSimulator, InstantRailSimulator
from apps.routing.adapters.sandbox import SimulatorSettings
from apps.routing.data import Method, Outcome, PayoutDescription
from apps.routing.domain import BreakerState, ConnectorProfile
from tests.routing.conftest import configure

IBAN = "BH67BMAG00001299123456"


def payout(amount: int = 12_500, *, currency: str = "BHD", livemode: bool = False) -> PayoutDescription:
    return PayoutDescription(payout_id=uuid.uuid4(), merchant_id=uuid.uuid4(), amount=amount, currency=currency,
                             country="BH", livemode=livemode)


def profile(name: str, method: Method, *, enabled: bool = True, livemode: bool = False) -> ConnectorProfile:
    return ConnectorProfile(name=name, method=method, currencies=frozenset({"BHD"}), countries=frozenset(),
                            amount_limits={"BHD": (1, 1_000_000)}, enabled=enabled, livemode=livemode)


RAILS = {"acquirer": profile("acquirer", Method.CARD), "fawri": profile("fawri", Method.INSTANT)}


@pytest.mark.parametrize(("amount", "candidates"), [(100_000, ("fawri",)), (100_001, ())])
def test_the_rail_takes_a_payout_at_or_below_the_limit_and_the_file_the_rest(amount, candidates):
    decision = domain.payout_decide(payout=payout(amount), limit=100_000, connectors=RAILS, breakers={})
    assert decision.candidates == candidates and decision.rule == "instant_payouts"
    if not candidates:
        assert decision.reason == ("Payment file: 100001 BHD minor units is above the instant payout limit of "
                                   "100000.")


def test_no_limit_for_the_currency_open_or_half_open_breakers_and_other_modes_mean_the_file():
    assert domain.payout_decide(payout=payout(), limit=None, connectors=RAILS, breakers={}).candidates == ()
    for state in (BreakerState.OPEN, BreakerState.HALF_OPEN):
        decision = domain.payout_decide(payout=payout(), limit=100_000, connectors=RAILS, breakers={"fawri": state})
        assert decision.candidates == () and decision.excluded == {"fawri": f"circuit {state.value.replace('_', '-')}"}
    live = domain.payout_decide(payout=payout(livemode=True), limit=100_000, connectors=RAILS, breakers={})
    assert live.candidates == () and live.excluded == {"fawri": "serves test payments only"}
    disabled = {"fawri": profile("fawri", Method.INSTANT, enabled=False)}
    assert domain.payout_decide(payout=payout(), limit=100_000, connectors=disabled, breakers={}).candidates == ()


def test_a_card_acquirer_never_takes_a_payout():
    only_cards = {"acquirer": RAILS["acquirer"]}
    decision = domain.payout_decide(payout=payout(), limit=100_000, connectors=only_cards, breakers={})
    assert decision.candidates == () and decision.excluded == {}


@pytest.mark.django_db
def test_routing_reads_the_limit_setting_and_the_rails_breaker(settings):
    settings.FINCORE_INSTANT_PAYOUT_LIMITS = {"BHD": 100_000}
    assert services.payout_route(description=payout(100_000)).candidates == ("fawri_instant",)
    assert services.payout_route(description=payout(100_001)).candidates == ()
    assert services.payout_route(description=payout(5_000, currency="USD")).candidates == ()

    configure("fawri_instant", breaker_min_samples=1)
    connector = selectors.connector_get("fawri_instant")
    health.result_record(connector="fawri_instant", method="instant", currency="BHD", outcome=Outcome.ERROR,
                         policy=selectors.breaker_policy(connector))
    decision = services.payout_route(description=payout(100_000))
    assert decision.candidates == () and decision.excluded == {"fawri_instant": "circuit open"}


def rail(network: InMemoryNetwork, **rates: Decimal) -> InstantRailSimulator:
    return InstantRailSimulator(SimulatorSettings(name="fawri", **rates), network, sleep=lambda _: None)


def send(simulator, key: str = "PO1", amount: int = 12_500, currency: str = "BHD", iban: str = IBAN):
    return simulator.payout(idempotency_key=key, amount=amount, currency=currency, iban=iban, bic="BMAGBHBM",
                            beneficiary_name="Gulf Coffee W.L.L.")


def test_the_sandbox_rail_credits_a_payout_once_per_key():
    network = InMemoryNetwork()
    simulator = rail(network)
    first = send(simulator)
    assert first.outcome == Outcome.APPROVED and first.reference.startswith("fawri_")
    assert send(simulator) == first and len(network.operations) == 1
    assert network.operations[0].kind == "payout" and network.operations[0].amount == 12_500


def test_the_sandbox_rail_declines_what_it_cannot_credit_and_loses_answers_it_is_told_to():
    network = InMemoryNetwork()
    assert send(rail(network), key="a", currency="USD").error_code == "currency_not_supported"
    assert send(rail(network), key="b", iban="BH00NOTANIBAN").error_code == "invalid_iban"
    assert send(rail(network), key="c", amount=1_000_001).error_code == "amount_exceeds_limit"
    assert send(rail(network, decline_rate=Decimal(1)), key="d").error_code == "beneficiary_bank_declined"
    lost = send(rail(network, timeout_rate=Decimal(1)), key="e")
    assert lost.outcome == Outcome.UNKNOWN
    # Done at the network all the same: the same key learns it.
    assert send(rail(network), key="e").outcome == Outcome.APPROVED
    card = CardAcquirerSimulator(SimulatorSettings(name="acquirer"), network, sleep=lambda _: None)
    assert send(card, key="f").error_code == "payouts_not_supported"
