"""End to end: the merchant API, the outbox, RabbitMQ, a real Celery worker on the payments
queue, routing and the sandbox connectors, the ledger and the webhooks' event log.

The janitor runs when a test publishes ``payments.janitor`` (as beat does every 5 s)."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from apps.core import ids
from apps.core.actors import Actor
from apps.events.webhooks.models import WebhookEvent
from apps.ledger.models import Transfer
from apps.payments.models import Payment
from apps.routing import services as routing_services
from apps.routing.models import Connector, RoutingRule, SandboxOperation
from tests.factories.routing import sandbox_seeded
from tests.payments.conftest import journal
from tests.support.workers import WorkerProcess, publish, purge_all_queues, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENTS = "/api/v1/payments"
CARD = {"type": "card", "token": "tok_success"}
TEST_ACTOR = Actor.system("tests.payments")


@pytest.fixture(autouse=True)
def sandbox() -> None:
    """The sandbox connectors and default rules as ``migrate`` seeds them (a transactional test's
    flush removes them), with no latency unless a test sets some."""
    purge_all_queues()
    sandbox_seeded()
    Connector.objects.update(latency_ms=0)


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    with running_worker("payments") as process:
        yield process


def configure(name: str, *arguments: str) -> None:
    call_command("connector_configure", name, *arguments, "--reason", "end-to-end test")


def create(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"amount": 12500, "currency": "BHD", "country": "BH", "payment_method": CARD, **fields}
    response = client.post(PAYMENTS, body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def status_of(payment: dict[str, Any]) -> str:
    return Payment.objects.values_list("status", flat=True).get(pk=ids.decode("pay", payment["id"]))


def wait_for(payment: dict[str, Any], *statuses: str, timeout: float = 30, janitor: bool = False) -> dict:
    """Wait until the payment is in one of ``statuses``; with ``janitor``, run the janitor every
    second meanwhile, as beat would."""
    last_tick = 0.0

    def reached() -> bool:
        nonlocal last_tick
        if janitor and time.monotonic() - last_tick > 1:
            publish("payments.janitor", queue="payments")
            last_tick = time.monotonic()
        return status_of(payment) in statuses

    wait_until(reached, timeout=timeout, message=f"payment {payment['id']} to be {' or '.join(statuses)}")
    return payment


def shown(client: Any, payment: dict[str, Any]) -> dict[str, Any]:
    return client.get(f"{PAYMENTS}/{payment['id']}").json()


def captures_of(payment: dict[str, Any]) -> list[Transfer]:
    return list(Transfer.objects.filter(reference=payment["id"], code="capture"))


def test_a_card_payment_succeeds(merchant_client, worker):
    payment = wait_for(create(merchant_client), "succeeded", "failed")

    body = shown(merchant_client, payment)
    assert (body["status"], body["amount_captured"]) == ("succeeded", 12500)
    assert body["connector"] in {"acquirer_alpha", "acquirer_beta"}
    assert [a["status"] for a in body["attempts"]] == ["captured"]
    assert body["attempts"][0]["routing"]["rule"] == "cards"
    assert len(captures_of(payment)) == 1
    [event] = WebhookEvent.objects.filter(type="payment.succeeded")
    assert event.data["object"]["id"] == payment["id"]


def test_a_declined_payment_fails(merchant_client, worker):
    payment = wait_for(create(merchant_client, payment_method={"type": "card", "token": "tok_decline"}),
                       "succeeded", "failed")
    body = shown(merchant_client, payment)
    assert (body["status"], body["failure"]["code"]) == ("failed", "do_not_honor")
    assert len(body["attempts"]) == 1
    assert captures_of(payment) == []


def test_an_unknown_outcome_is_resolved_by_the_janitor(merchant_client, worker):
    payment = create(merchant_client, payment_method={"type": "card", "token": "tok_unknown"})
    wait_until(lambda: shown(merchant_client, payment)["attempts"][-1:] and
               shown(merchant_client, payment)["attempts"][0]["status"] == "unknown",
               message="the attempt to be unknown")
    assert status_of(payment) == "processing"

    wait_for(payment, "succeeded", janitor=True)

    payment_id = ids.decode("pay", payment["id"])
    assert SandboxOperation.objects.filter(payment_id=payment_id, kind="authorize").count() == 1
    assert len(captures_of(payment)) == 1
    assert [a["status"] for a in shown(merchant_client, payment)["attempts"]] == ["captured"]


def test_failover_during_an_outage(merchant_client, worker):
    # Alpha first, every time, so each payment meets the outage (with success-rate scoring
    # some would go straight to beta and prove nothing).
    routing_services.routing_rule_update(
        rule_id=RoutingRule.objects.get(name="cards").pk, changes={"strategy": "priority"}, actor=TEST_ACTOR,
        reason="end-to-end test",
    )
    configure("acquirer_alpha", "--outage-rate", "1")
    payments = [create(merchant_client) for _ in range(3)]
    for payment in payments:
        wait_for(payment, "succeeded", "failed")
        body = shown(merchant_client, payment)
        assert (body["status"], body["connector"]) == ("succeeded", "acquirer_beta")
        assert [(a["connector"], a["status"], a["error_code"]) for a in body["attempts"]] == [
            ("acquirer_alpha", "failed", "connector_unavailable"), ("acquirer_beta", "captured", "")]


def test_the_circuit_breaker_opens_on_an_outage_and_closes_after_a_good_probe(merchant_client, worker):
    routing_services.connector_update(
        name="acquirer_alpha", changes={"breaker_min_samples": 3, "breaker_open_seconds": 2}, actor=TEST_ACTOR,
        reason="end-to-end test",
    )
    # Alpha first, every time (success-rate scoring would soon stop sending it anything).
    routing_services.routing_rule_update(
        rule_id=RoutingRule.objects.get(name="cards").pk, changes={"strategy": "priority"}, actor=TEST_ACTOR,
        reason="end-to-end test",
    )
    configure("acquirer_alpha", "--outage-rate", "1")
    opened = None
    for _ in range(12):
        payment = wait_for(create(merchant_client), "succeeded", "failed")
        first_attempt = shown(merchant_client, payment)["attempts"][0]
        if first_attempt["routing"]["excluded"].get("acquirer_alpha") == "circuit open":
            opened = payment
            break
        assert status_of(payment) == "succeeded"  # failed over meanwhile
    assert opened is not None, "the breaker never opened"
    assert [a["connector"] for a in shown(merchant_client, opened)["attempts"]] == ["acquirer_beta"]

    # The outage ends; once the breaker half-opens, the next payment is alpha's probe.
    configure("acquirer_alpha", "--outage-rate", "0")
    time.sleep(2.5)
    probe = wait_for(create(merchant_client), "succeeded", "failed", timeout=30)
    body = shown(merchant_client, probe)
    assert (body["status"], body["connector"]) == ("succeeded", "acquirer_alpha")
    assert "probe" in body["attempts"][0]["routing"]["reason"].lower()

    after = wait_for(create(merchant_client), "succeeded", "failed")
    routing = shown(merchant_client, after)["attempts"][0]["routing"]
    assert routing["candidates"] == ["acquirer_alpha", "acquirer_beta"]
    assert routing["excluded"] == {}
    assert shown(merchant_client, after)["connector"] == "acquirer_alpha"


def test_manual_and_partial_capture(merchant_client, worker):
    payment = wait_for(create(merchant_client, capture_method="manual", amount=250000), "requires_capture",
                       "failed")
    assert captures_of(payment) == []

    captured = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", {"amount": 200000}, format="json")

    assert captured.status_code == 200, captured.content
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("succeeded", 200000)
    [transfer] = captures_of(payment)
    assert transfer.amount == 200000
    assert WebhookEvent.objects.filter(type="payment.captured").count() == 1


def test_refunds_to_the_bound(merchant_client, worker):
    payment = wait_for(create(merchant_client), "succeeded", "failed")

    for amount in (5000, 7500):
        response = merchant_client.post("/api/v1/refunds", {"payment": payment["id"], "amount": amount},
                                        format="json")
        assert (response.status_code, response.json()["status"]) == (201, "succeeded")
    beyond = merchant_client.post("/api/v1/refunds", {"payment": payment["id"], "amount": 1}, format="json")

    assert (beyond.status_code, beyond.json()["code"]) == (422, "refund_exceeds_captured")
    body = shown(merchant_client, payment)
    assert (body["amount_refunded"], body["amount_refundable"]) == (12500, 0)
    assert merchant_client.get("/api/v1/balance").json()["balances"][0]["pending"] == 0


def test_a_worker_killed_during_the_connector_call_leaves_a_payment_the_janitor_captures_once(merchant_client):
    configure("acquirer_alpha", "--latency-ms", "4000")
    configure("acquirer_beta", "--latency-ms", "4000")
    payment = create(merchant_client)
    payment_id = ids.decode("pay", payment["id"])

    crashed = WorkerProcess(queues=("payments",)).start()
    try:
        # The sandbox records the authorization before it sleeps its latency: the connector has
        # acted, and the worker dies before it hears so.
        wait_until(lambda: SandboxOperation.objects.filter(payment_id=payment_id).exists(),
                   message="the connector to record the authorization")
        crashed.kill()
    finally:
        crashed.stop()
    assert status_of(payment) == "processing"
    assert shown(merchant_client, payment)["attempts"][0]["status"] == "processing"

    configure("acquirer_alpha", "--latency-ms", "200")
    configure("acquirer_beta", "--latency-ms", "200")
    with running_worker("payments"):
        wait_for(payment, "succeeded", "failed", timeout=60, janitor=True)

    body = shown(merchant_client, payment)
    assert body["status"] == "succeeded"
    [attempt] = body["attempts"]
    assert attempt["status"] == "captured"
    # The redelivered task found the attempt in flight: it never called authorize again.
    assert journal(ids.decode("att", attempt["id"])) == ["payment.attempt_interrupted"]
    assert SandboxOperation.objects.filter(payment_id=payment_id).count() == 1  # one connector capture
    assert len(captures_of(payment)) == 1  # one ledger capture
    assert WebhookEvent.objects.filter(type="payment.succeeded").count() == 1
