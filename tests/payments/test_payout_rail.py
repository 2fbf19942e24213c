"""Instant payouts against PostgreSQL, Redis and the seeded sandbox rail (fawri_instant, test
mode): routing's decision recorded, the hold posted before the rail is called, and the rail's
answer applied with its exact ledger effect (merchant available, payouts in transit, the rail's
clearing account); an unknown answer asked again by the janitor; retries that change nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.events.outbox.models import OutboxMessage
from apps.ledger.data import AccountRole
from apps.payments import connectors, services
from apps.payments.exceptions import PayoutNotReleasable
from apps.payments.models import Payout
from apps.routing import services as routing_services
from apps.routing.data import ConnectorResult, Outcome
from apps.routing.models import SandboxOperation
from tests.factories.payouts import SETTLEMENT, account, available, balances, funded_merchant, payout, written

pytestmark = pytest.mark.django_db
IN_TRANSIT = account(AccountRole.PAYOUTS_IN_TRANSIT)
RAIL = account(AccountRole.CONNECTOR_CLEARING, name="fawri_instant")


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.FINCORE_INSTANT_PAYOUT_LIMITS = {"BHD": 20_000}


@pytest.fixture
def rail_calls(monkeypatch):
    """Every call to a connector, with whether a transaction of the code under test was open
    (the test itself runs in one: its depth is the baseline)."""
    baseline = len(connection.atomic_blocks)
    calls = []
    real = connectors.call

    def call(**arguments):
        calls.append((arguments["operation"].value, len(connection.atomic_blocks) > baseline))
        return real(**arguments)

    monkeypatch.setattr(connectors, "call", call)
    return calls


def _after_the_hold():
    return time_machine.travel(clock.now() + timedelta(hours=24, seconds=1), tick=False)


def _configure(**changes):
    routing_services.connector_update(name="fawri_instant", changes=changes, actor=SETTLEMENT, reason="test")


def _routed(amount: int = 12_500):
    merchant = funded_merchant(50_000)
    made = payout(merchant, amount)
    return merchant, made


def _sent_by_the_rail(made, **rail):
    """``made`` routed to the rail configured with ``rail``, and the rail called (the task's work)."""
    _configure(**rail)
    services.payout_route(payout_id=made.pk, actor=SETTLEMENT)
    return services.payout_rail_send(payout_id=made.pk)


def test_a_small_payout_leaves_by_the_rail_and_is_paid_into_the_rails_clearing_account(rail_calls):
    merchant, made = _routed()
    with _after_the_hold():
        routed = services.payout_route(payout_id=made.pk, actor=SETTLEMENT)
        assert (routed.status, routed.connector, routed.nostro, routed.file_reference) == (
            "in_transit", "fawri_instant", "fawri_instant", made.end_to_end_id)
        assert routed.routing["candidates"] == ["fawri_instant"] and routed.routing["rule"] == "instant_payouts"
        assert list(OutboxMessage.objects.filter(task_name="payments.payout_rail_send")
                    .values_list("kwargs", "queue", "priority")) == [({"payout_id": str(made.pk)}, "payments", 9)]
        assert rail_calls == []  # committed first, the rail called by the task
        assert balances(IN_TRANSIT) == (0, 0, 0, 12_500)  # the hold posted: in transit

        paid = services.payout_rail_send(payout_id=made.pk)

    assert rail_calls == [("payout", False)]
    assert (paid.status, paid.connector_calls, paid.next_attempt_at) == ("paid", 0, None)
    assert paid.connector_reference.startswith("fawri_instant_")
    assert balances(IN_TRANSIT) == (0, 12_500, 0, 12_500)
    assert balances(RAIL) == (0, 0, 0, 12_500)
    assert available(merchant) == 37_500
    operation = SandboxOperation.objects.get()
    assert (operation.kind, operation.idempotency_key, operation.amount, operation.outcome) == (
        "payout", made.end_to_end_id, 12_500, "approved")


def test_the_same_task_again_calls_nothing_and_writes_nothing(rail_calls):
    _, made = _routed()
    with _after_the_hold():
        services.payout_route(payout_id=made.pk, actor=SETTLEMENT)
        services.payout_rail_send(payout_id=made.pk)
        before = written()
        assert services.payout_rail_send(payout_id=made.pk).status == "paid"
        assert services.payout_route(payout_id=made.pk, actor=SETTLEMENT).status == "paid"
    assert written() == before and len(rail_calls) == 1 and SandboxOperation.objects.count() == 1


def test_a_declined_payout_fails_with_the_rails_code_and_the_money_is_available_again(rail_calls):
    merchant, made = _routed()
    with _after_the_hold():
        failed = _sent_by_the_rail(made, decline_rate=Decimal(1))
    assert (failed.status, failed.failure_code) == ("failed", "beneficiary_bank_declined")
    assert balances(IN_TRANSIT) == (0, 12_500, 0, 12_500)
    assert balances(RAIL) == (0, 0, 0, 0)
    assert available(merchant) == 50_000
    assert rail_calls == [("payout", False)]


def test_an_unknown_answer_is_asked_again_by_the_janitor_with_the_same_key(rail_calls):
    merchant, made = _routed()
    with _after_the_hold():
        waiting = _sent_by_the_rail(made, timeout_rate=Decimal(1))
        assert (waiting.status, waiting.connector_calls) == ("in_transit", 1)
        assert waiting.next_attempt_at == clock.now() + timedelta(seconds=2)
        assert balances(IN_TRANSIT) == (0, 0, 0, 12_500) and balances(RAIL) == (0, 0, 0, 0)
        assert services.payments_janitor().payouts == 0  # not due yet
        with time_machine.travel(clock.now() + timedelta(seconds=3), tick=False):
            report = services.payments_janitor()
    assert report.payouts == 1 and report.errors == []
    made.refresh_from_db()
    assert (made.status, made.next_attempt_at) == ("paid", None)
    assert balances(RAIL) == (0, 0, 0, 12_500) and available(merchant) == 37_500
    assert SandboxOperation.objects.count() == 1  # credited once: the rail knew the key
    assert rail_calls == [("payout", False), ("payout", False)]


def test_above_the_limit_or_with_the_breaker_open_the_payout_waits_for_the_file(rail_calls):
    _, large = _routed(20_001)
    _, small = _routed(12_000)
    _, other = _routed(11_000)
    with _after_the_hold():
        kept = services.payout_route(payout_id=large.pk, actor=SETTLEMENT)
        assert (kept.status, kept.connector, kept.routing["candidates"]) == ("pending", "", [])
        assert "above the instant payout limit of 20000" in kept.routing["reason"]
        _configure(breaker_min_samples=1, outage_rate=Decimal(1))
        services.payout_route(payout_id=small.pk, actor=SETTLEMENT)  # routed to the rail...
        assert services.payout_rail_send(payout_id=small.pk).status == "in_transit"  # ...which was down: open
        routed = services.payout_route(payout_id=other.pk, actor=SETTLEMENT)
    assert routed.status == "pending" and routed.routing["excluded"] == {"fawri_instant": "circuit open"}
    assert rail_calls == [("payout", False)]


def test_a_held_payout_is_not_routed():
    _, made = _routed()
    with pytest.raises(PayoutNotReleasable):
        services.payout_route(payout_id=made.pk, actor=SETTLEMENT)
    assert Payout.objects.get(pk=made.pk).routing == {}


@pytest.mark.parametrize(("answer", "status"), [
    (ConnectorResult(Outcome.APPROVED, reference="fawri_1"), "paid"),
    (ConnectorResult(Outcome.DECLINED, reference="fawri_1", error_code="AC04", message="Closed"), "failed"),
])
def test_the_rails_answer_is_applied_to_the_row_its_transaction_locked_in_one_update(answer, status):
    _, made = _routed()
    with _after_the_hold():
        services.payout_route(payout_id=made.pk, actor=SETTLEMENT)
        with CaptureQueriesContext(connection) as queries:
            recorded = services.payout_rail_result_record(payout_id=made.pk, result=answer)
    assert [q["sql"].split()[0] for q in queries.captured_queries if 'FROM "payments_payout"' in q["sql"]
            or q["sql"].startswith('UPDATE "payments_payout"')] == ["SELECT", "UPDATE"]
    made.refresh_from_db()
    assert (made.status, made.connector_reference, made.next_attempt_at) == (status, "fawri_1", None)
    assert (recorded.status, recorded.connector_reference) == (status, "fawri_1")
