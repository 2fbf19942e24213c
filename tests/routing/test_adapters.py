"""The sandbox simulators: tokens, rates, latency, idempotency, the wire's later confirmation,
capture/void/refund bookkeeping, the instant rail's checks and the error-code map."""

import random
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from apps.core import clock
from apps.routing import selectors
from apps.routing.adapters import ErrorCodeMappedAdapter, SimulatorSettings, adapter_build
from apps.routing.adapters.memory import InMemoryNetwork
from apps.routing.adapters.rails import (
    CardAcquirerSimulator,
    InstantRailSimulator,
    WalletSimulator,
    WireSimulator,
)
from apps.routing.data import ConnectorResult, Outcome
from apps.routing.models import SandboxOperation
from tests.factories.routing import sandbox_seeded
from tests.routing.conftest import configure

CARD_CODES = {"do_not_honor": "hard", "insufficient_funds": "hard", "processor_unavailable": "retryable",
              "connector_unavailable": "retryable"}
BH_IBAN = "BH67BMAG00001299123456"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def card(
    network: InMemoryNetwork, name: str = "alpha", sleeps: Sleeps | None = None, **settings
) -> ErrorCodeMappedAdapter:
    simulator = CardAcquirerSimulator(SimulatorSettings(name=name, **settings), network, rng=random.Random(7),
                                      sleep=sleeps if sleeps is not None else Sleeps())
    return ErrorCodeMappedAdapter(simulator, CARD_CODES)


def authorize(adapter, token: str = "tok_success", *, key: str = "att_1", payment_id: uuid.UUID | None = None,
              amount: int = 12_500, currency: str = "BHD", capture: bool = False) -> ConnectorResult:
    return adapter.authorize(idempotency_key=key, payment_id=payment_id or uuid.uuid4(), amount=amount,
                             currency=currency, payment_method={"type": "card", "token": token}, capture=capture)


# --- tokens -------------------------------------------------------------------------------


def test_tok_success_is_approved_with_a_reference():
    network = InMemoryNetwork()
    result = authorize(card(network))
    assert result.outcome == Outcome.APPROVED
    assert result.reference.startswith("alpha_")
    assert (result.error_code, result.retryable) == ("", False)
    assert [op.outcome for op in network.operations] == ["approved"]


@pytest.mark.parametrize(("token", "code"), [("tok_decline", "do_not_honor"),
                                             ("tok_insufficient_funds", "insufficient_funds")])
def test_hard_decline_tokens(token, code):
    network = InMemoryNetwork()
    result = authorize(card(network), token)
    assert (result.outcome, result.error_code, result.retryable) == (Outcome.DECLINED, code, False)
    assert result.reference
    assert [op.outcome for op in network.operations] == ["declined"]


def test_tok_unknown_is_done_at_the_network_but_answers_a_timeout_then_inquire_learns_it():
    network = InMemoryNetwork()
    adapter = card(network)
    result = authorize(adapter, "tok_unknown")
    assert (result.outcome, result.error_code, result.retryable, result.reference) == (
        Outcome.UNKNOWN, "timeout", False, "")
    learnt = adapter.inquire(idempotency_key="att_1")
    assert learnt.outcome == Outcome.APPROVED
    assert learnt.reference == network.operations[0].reference


def test_tok_retryable_fails_on_the_first_connector_and_succeeds_on_the_next():
    network = InMemoryNetwork()
    payment_id = uuid.uuid4()
    first = authorize(card(network, "alpha"), "tok_retryable", key="att_1", payment_id=payment_id)
    assert (first.outcome, first.error_code, first.retryable) == (Outcome.ERROR, "processor_unavailable", True)
    second = authorize(card(network, "beta"), "tok_retryable", key="att_2", payment_id=payment_id)
    assert second.outcome == Outcome.APPROVED
    again_on_first = authorize(card(network, "alpha"), "tok_retryable", key="att_3", payment_id=payment_id)
    assert again_on_first.outcome == Outcome.ERROR


def test_a_missing_token_is_a_hard_decline_and_another_token_is_approved():
    network = InMemoryNetwork()
    assert authorize(card(network), "", key="a").error_code == "invalid_token"
    assert authorize(card(network), "tok_visa_4242", key="b").outcome == Outcome.APPROVED


# --- rates, latency, idempotency ----------------------------------------------------------


def test_an_outage_records_nothing_and_is_retryable():
    network = InMemoryNetwork()
    result = authorize(card(network, outage_rate=Decimal(1)))
    assert (result.outcome, result.error_code, result.retryable) == (Outcome.ERROR, "connector_unavailable", True)
    assert network.operations == []
    assert card(network, outage_rate=Decimal(1)).inquire(idempotency_key="att_1").outcome == Outcome.ERROR


def test_the_timeout_rate_loses_answers_of_operations_that_were_done():
    network = InMemoryNetwork()
    result = authorize(card(network, timeout_rate=Decimal(1)))
    assert (result.outcome, result.error_code) == (Outcome.UNKNOWN, "timeout")
    assert [op.outcome for op in network.operations] == ["approved"]


def test_the_rates_apply_to_tok_success_but_failure_tokens_keep_their_answer():
    network = InMemoryNetwork()
    assert authorize(card(network, decline_rate=Decimal(1)), "tok_success", key="a").error_code == "do_not_honor"
    assert authorize(card(network, decline_rate=Decimal(1)), "tok_visa", key="b").error_code == "do_not_honor"
    lost = authorize(card(network, timeout_rate=Decimal(1)), "tok_insufficient_funds", key="c")
    assert (lost.outcome, lost.error_code) == (Outcome.DECLINED, "insufficient_funds")


def test_rates_between_0_and_1_hit_about_their_share():
    network = InMemoryNetwork()
    adapter = card(network, decline_rate=Decimal("0.2500"))
    declined = sum(authorize(adapter, "tok_any", key=f"k{n}").outcome == Outcome.DECLINED for n in range(2000))
    assert 400 < declined < 600


def test_latency_is_slept_after_the_operation_is_recorded():
    network = InMemoryNetwork()
    recorded_when_sleeping = []
    sleeps = Sleeps()
    adapter = card(network, sleeps=sleeps, latency_ms=250)
    adapter.inner.sleep = lambda seconds: (recorded_when_sleeping.append(len(network.operations)), sleeps(seconds))
    authorize(adapter)
    assert sleeps == [0.25]
    assert recorded_when_sleeping == [1]


def test_a_repeated_call_returns_the_recorded_result_without_a_second_operation():
    network = InMemoryNetwork()
    adapter = card(network)
    payment_id = uuid.uuid4()
    first = authorize(adapter, "tok_success", payment_id=payment_id)
    again = authorize(adapter, "tok_decline", payment_id=payment_id)
    assert again == first
    assert len(network.operations) == 1


def test_a_repeat_after_a_lost_answer_tells_the_truth():
    network = InMemoryNetwork()
    adapter = card(network)
    assert authorize(adapter, "tok_unknown").outcome == Outcome.UNKNOWN
    assert authorize(adapter, "tok_unknown").outcome == Outcome.APPROVED
    assert len(network.operations) == 1


def test_inquire_without_a_record_is_unknown_not_found():
    result = card(InMemoryNetwork()).inquire(idempotency_key="never-sent")
    assert (result.outcome, result.error_code, result.retryable) == (Outcome.UNKNOWN, "not_found", False)


# --- the wire -----------------------------------------------------------------------------


def wire(network: InMemoryNetwork, confirm_after_seconds: int = 30) -> WireSimulator:
    return WireSimulator(SimulatorSettings(name="swift", confirm_after_seconds=confirm_after_seconds), network,
                         sleep=Sleeps())


def test_a_wire_is_pending_then_confirmed_later():
    network = InMemoryNetwork()
    adapter = wire(network, confirm_after_seconds=2)
    result = adapter.authorize(idempotency_key="w1", payment_id=uuid.uuid4(), amount=1_000_000, currency="USD",
                               payment_method={"type": "wire"}, capture=True)
    assert result.outcome == Outcome.PENDING
    assert result.reference
    assert adapter.inquire(idempotency_key="w1").outcome == Outcome.PENDING
    network.current += timedelta(seconds=2)
    confirmed = adapter.inquire(idempotency_key="w1")
    assert (confirmed.outcome, confirmed.reference) == (Outcome.APPROVED, result.reference)


def test_a_wire_with_no_delay_still_answers_pending_first():
    network = InMemoryNetwork()
    adapter = wire(network, confirm_after_seconds=0)
    result = adapter.authorize(idempotency_key="w1", payment_id=uuid.uuid4(), amount=100, currency="USD",
                               payment_method={"type": "wire"}, capture=True)
    assert result.outcome == Outcome.PENDING
    assert adapter.inquire(idempotency_key="w1").outcome == Outcome.APPROVED


# --- capture, void, refund ----------------------------------------------------------------


def test_partial_captures_up_to_the_authorized_amount():
    network = InMemoryNetwork()
    adapter = card(network)
    reference = authorize(adapter, amount=1_000).reference
    assert adapter.capture(idempotency_key="c1", reference=reference, amount=600, currency="BHD").outcome == "approved"
    over = adapter.capture(idempotency_key="c2", reference=reference, amount=401, currency="BHD")
    assert (over.outcome, over.error_code, over.retryable) == (Outcome.DECLINED, "amount_exceeds_authorization", False)
    assert adapter.capture(idempotency_key="c3", reference=reference, amount=400, currency="BHD").outcome == "approved"


def test_capture_refuses_unknown_references_other_currencies_and_closed_authorizations():
    network = InMemoryNetwork()
    adapter = card(network)
    assert adapter.capture(idempotency_key="c0", reference="nope", amount=1, currency="BHD").error_code == (
        "authorization_not_found")
    captured = authorize(adapter, key="a1", capture=True).reference
    assert adapter.capture(idempotency_key="c1", reference=captured, amount=1, currency="BHD").error_code == (
        "authorization_closed")
    held = authorize(adapter, key="a2").reference
    assert adapter.capture(idempotency_key="c2", reference=held, amount=1, currency="USD").error_code == (
        "currency_mismatch")
    declined = authorize(adapter, "tok_decline", key="a3").reference
    assert adapter.capture(idempotency_key="c3", reference=declined, amount=1, currency="BHD").error_code == (
        "authorization_not_approved")


def test_void_releases_an_uncaptured_authorization_once():
    network = InMemoryNetwork()
    adapter = card(network)
    reference = authorize(adapter).reference
    assert adapter.void(idempotency_key="v1", reference=reference).outcome == Outcome.APPROVED
    assert adapter.void(idempotency_key="v1", reference=reference).outcome == Outcome.APPROVED  # a replay
    assert adapter.void(idempotency_key="v2", reference=reference).error_code == "authorization_closed"
    assert adapter.capture(idempotency_key="c1", reference=reference, amount=1, currency="BHD").error_code == (
        "authorization_closed")


def test_refunds_add_up_to_what_was_captured():
    network = InMemoryNetwork()
    adapter = card(network)
    reference = authorize(adapter, amount=1_000, capture=True).reference
    assert adapter.refund(idempotency_key="r1", reference=reference, amount=700, currency="BHD").outcome == "approved"
    assert adapter.refund(idempotency_key="r2", reference=reference, amount=301, currency="BHD").error_code == (
        "amount_exceeds_captured")
    assert adapter.refund(idempotency_key="r3", reference=reference, amount=300, currency="BHD").outcome == "approved"


def test_refunds_of_a_manual_capture_count_its_captures_and_accept_a_capture_reference():
    network = InMemoryNetwork()
    adapter = card(network)
    reference = authorize(adapter, amount=1_000).reference
    assert adapter.refund(idempotency_key="r0", reference=reference, amount=1, currency="BHD").error_code == (
        "amount_exceeds_captured")
    capture = adapter.capture(idempotency_key="c1", reference=reference, amount=400, currency="BHD")
    assert adapter.refund(idempotency_key="r1", reference=capture.reference, amount=300, currency="BHD").outcome == (
        "approved")
    over = adapter.refund(idempotency_key="r2", reference=reference, amount=101, currency="BHD")
    assert over.error_code == "amount_exceeds_captured"
    assert adapter.refund(idempotency_key="r3", reference=reference, amount=100, currency="BHD").outcome == "approved"


# --- the instant rail and wallets -----------------------------------------------------------


def instant(network: InMemoryNetwork) -> InstantRailSimulator:
    return InstantRailSimulator(SimulatorSettings(name="fawri"), network, sleep=Sleeps())


@pytest.mark.parametrize(
    ("iban", "amount", "currency", "outcome", "code"),
    [
        (BH_IBAN, 1_000_000, "BHD", Outcome.APPROVED, ""),
        ("bh67 bmag 0000 1299 1234 56", 1, "BHD", Outcome.APPROVED, ""),
        ("BH68BMAG00001299123456", 1, "BHD", Outcome.DECLINED, "invalid_iban"),
        ("BH67BMAG0000129912345", 1, "BHD", Outcome.DECLINED, "invalid_iban"),
        (None, 1, "BHD", Outcome.DECLINED, "invalid_iban"),
        (BH_IBAN, 1_000_001, "BHD", Outcome.DECLINED, "amount_exceeds_limit"),
        (BH_IBAN, 1, "USD", Outcome.DECLINED, "currency_not_supported"),
    ],
)
def test_the_instant_rail_checks_iban_cap_and_currency(iban, amount, currency, outcome, code):
    result = instant(InMemoryNetwork()).authorize(
        idempotency_key="i1", payment_id=uuid.uuid4(), amount=amount, currency=currency,
        payment_method={"type": "instant", "iban": iban}, capture=True,
    )
    assert (result.outcome, result.error_code) == (outcome, code)


def test_the_wallet_simulates_only_latency_and_outage():
    network = InMemoryNetwork()
    sleeps = Sleeps()
    adapter = WalletSimulator(SimulatorSettings(name="wallet", latency_ms=5), network, sleep=sleeps)
    result = adapter.authorize(idempotency_key="w", payment_id=uuid.uuid4(), amount=5, currency="BHD",
                               payment_method={"type": "wallet", "account": "acc_1"}, capture=True)
    assert result.outcome == Outcome.APPROVED
    assert sleeps == [0.005]


def test_adapter_build_knows_each_simulator():
    expected = {"card_acquirer": CardAcquirerSimulator, "instant_rail": InstantRailSimulator, "wire": WireSimulator,
                "wallet": WalletSimulator}
    for kind, simulator in expected.items():
        adapter = adapter_build(kind=kind, settings=SimulatorSettings(name="x"), network=InMemoryNetwork(),
                                error_codes={})
        assert (type(adapter), type(adapter.inner), adapter.name) == (ErrorCodeMappedAdapter, simulator, "x")


# --- through the database -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_seeded_adapter_records_at_the_network_before_answering():
    sandbox_seeded()  # an earlier transactional test's flush may have emptied the table
    configure("acquirer_alpha", latency_ms=0)
    adapter = selectors.connector_adapter("acquirer_alpha")
    payment_id = uuid.uuid4()
    seen_during_latency = []
    adapter.inner.settings = SimulatorSettings(name="acquirer_alpha", latency_ms=1)
    adapter.inner.sleep = lambda _: seen_during_latency.append(
        list(SandboxOperation.objects.values_list("idempotency_key", "outcome")))

    result = authorize(adapter, "tok_unknown", key="pay_1:1", payment_id=payment_id, capture=True)

    assert result.outcome == Outcome.UNKNOWN
    assert seen_during_latency == [[("pay_1:1", "approved")]]
    row = SandboxOperation.objects.get()
    assert (row.connector, row.kind, row.payment_id, row.amount, row.currency, row.auto_capture) == (
        "acquirer_alpha", "authorize", payment_id, 12_500, "BHD", True)
    assert adapter.inquire(idempotency_key="pay_1:1").outcome == Outcome.APPROVED


@pytest.mark.django_db
def test_the_seeded_error_code_map_decides_retryability():
    configure("acquirer_alpha", latency_ms=0, error_codes={"do_not_honor": "retryable"})
    configure("acquirer_beta", latency_ms=0)
    assert authorize(selectors.connector_adapter("acquirer_alpha"), "tok_decline", key="a").retryable is True
    assert authorize(selectors.connector_adapter("acquirer_beta"), "tok_decline", key="b").retryable is False


@pytest.mark.django_db
def test_tok_retryable_through_the_seeded_acquirers():
    configure("acquirer_alpha", latency_ms=0)
    configure("acquirer_beta", latency_ms=0)
    payment_id = uuid.uuid4()
    first = authorize(selectors.connector_adapter("acquirer_beta"), "tok_retryable", key="a", payment_id=payment_id)
    second = authorize(selectors.connector_adapter("acquirer_alpha"), "tok_retryable", key="b", payment_id=payment_id)
    assert (first.outcome, first.retryable, second.outcome) == (Outcome.ERROR, True, Outcome.APPROVED)


@pytest.mark.django_db
def test_the_seeded_wire_confirms_after_its_delay(time_machine):
    configure("swift_wire", latency_ms=0, confirm_after_seconds=2)
    adapter = selectors.connector_adapter("swift_wire")
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(start, tick=False)
    result = adapter.authorize(idempotency_key="w", payment_id=uuid.uuid4(), amount=100, currency="USD",
                               payment_method={"type": "wire"}, capture=True)
    assert result.outcome == Outcome.PENDING
    time_machine.move_to(start + timedelta(seconds=1), tick=False)
    assert adapter.inquire(idempotency_key="w").outcome == Outcome.PENDING
    time_machine.move_to(start + timedelta(seconds=2), tick=False)
    assert adapter.inquire(idempotency_key="w").outcome == Outcome.APPROVED
