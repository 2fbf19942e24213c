"""Payments against the real routing and the sandbox connectors seeded by migrate (in process;
tests/payments/test_end_to_end.py runs them on a real worker)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from apps.core import clock
from apps.payments import services
from apps.routing.models import SandboxOperation
from tests.factories.merchants import FACTORY_ACTOR
from tests.payments.conftest import create_payment, payment_transfers, processed

pytestmark = pytest.mark.django_db

CARDS = {"acquirer_alpha", "acquirer_beta"}


@pytest.fixture(autouse=True)
def _fast_connectors():
    for name in ("acquirer_alpha", "acquirer_beta", "fawri_instant", "swift_wire"):
        call_command("connector_configure", name, "--latency-ms", "0", "--reason", "fast tests")


def card(token: str) -> dict:
    return {"type": "card", "token": token}


def test_tok_success_is_captured_at_one_of_the_card_acquirers(merchant):
    payment = processed(merchant, payment_method=card("tok_success"))
    assert payment.status == "succeeded"
    assert payment.connector in CARDS
    attempt = payment.attempts.get()
    assert attempt.routing["rule"] == "cards"
    assert set(attempt.routing["candidates"]) == CARDS
    assert attempt.routing["reason"]
    assert len(payment_transfers(payment)) == 1


@pytest.mark.parametrize(("token", "code"), [("tok_decline", "do_not_honor"),
                                             ("tok_insufficient_funds", "insufficient_funds")])
def test_hard_declines_fail_without_failover(merchant, token, code):
    payment = processed(merchant, payment_method=card(token))
    assert (payment.status, payment.failure_code) == ("failed", code)
    assert payment.attempts.count() == 1


def test_tok_retryable_fails_over_to_the_other_acquirer(merchant):
    payment = processed(merchant, payment_method=card("tok_retryable"))
    first, second = payment.attempts.order_by("sequence")
    assert (first.status, first.error_code, first.retryable) == ("failed", "processor_unavailable", True)
    assert second.status == "captured"
    assert {first.connector, second.connector} == CARDS
    assert payment.status == "succeeded"


def test_tok_unknown_is_resolved_by_the_janitor_without_a_second_authorization(merchant):
    payment = processed(merchant, payment_method=card("tok_unknown"))
    attempt = payment.attempts.get()
    assert (payment.status, attempt.status, attempt.error_code) == ("processing", "unknown", "timeout")

    with time_machine.travel(clock.now() + timedelta(seconds=3), tick=False):
        services.payments_janitor()

    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert SandboxOperation.objects.filter(payment_id=payment.pk, kind="authorize").count() == 1
    assert len(payment_transfers(payment)) == 1


def test_an_outage_fails_over(merchant):
    call_command("connector_configure", "acquirer_alpha", "--outage-rate", "1")
    call_command("connector_configure", "acquirer_beta", "--outage-rate", "0")
    for _ in range(3):
        payment = processed(merchant, payment_method=card("tok_success"))
        assert (payment.status, payment.connector) == ("succeeded", "acquirer_beta")


def test_instant_transfers_go_out_on_fawri(merchant):
    payment = processed(merchant, payment_method={"type": "instant", "iban": "BH67BMAG00001299123456"})
    assert (payment.status, payment.connector) == ("succeeded", "fawri_instant")


def test_a_wire_is_pending_until_the_rail_confirms_it(merchant):
    call_command("connector_configure", "swift_wire", "--confirm-after-seconds", "10")
    payment = processed(merchant, payment_method={"type": "wire", "iban": "BH67BMAG00001299123456",
                                                  "bic": "BMAGBHBM"})
    assert (payment.status, payment.attempts.get().status) == ("processing", "pending")

    with time_machine.travel(clock.now() + timedelta(seconds=3), tick=False):
        services.payments_janitor()
    payment.refresh_from_db()
    assert payment.status == "processing"
    with time_machine.travel(clock.now() + timedelta(seconds=30), tick=False):
        services.payments_janitor()
    payment.refresh_from_db()
    assert (payment.status, payment.connector) == ("succeeded", "swift_wire")


def test_manual_partial_capture_and_refunds_to_the_bound_at_the_acquirer(merchant):
    payment = processed(merchant, payment_method=card("tok_success"), capture_method="manual", amount=25000)
    assert payment.status == "requires_capture"

    services.payment_capture(payment_id=payment.pk, amount=20000, actor=FACTORY_ACTOR)
    first = services.payment_refund(payment_id=payment.pk, amount=15000, actor=FACTORY_ACTOR)
    second = services.payment_refund(payment_id=payment.pk, amount=5000, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert (payment.amount_captured, payment.amount_refunded) == (20000, 20000)
    assert SandboxOperation.objects.filter(kind="refund", outcome="approved").count() == 2


def test_cancel_voids_at_the_acquirer(merchant):
    payment = create_payment(merchant, capture_method="manual")
    services.payment_process(payment_id=payment.pk)
    capture = services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)
    payment.refresh_from_db()
    assert (capture.status, payment.status) == ("succeeded", "canceled")
    assert SandboxOperation.objects.filter(kind="void", outcome="approved").count() == 1


def test_a_wallet_payment_and_its_refund_through_the_wallet_connector(merchant):
    from apps.core import ids
    from tests.factories import ledger as ledger_factories
    from tests.payments.conftest import posted

    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False)
    ledger_factories.fund(wallet, 20000)
    payment = processed(merchant, payment_method={"type": "wallet", "account": ids.encode("acc", wallet.pk)})
    assert (payment.status, payment.connector) == ("succeeded", "wallet")

    refund = services.payment_refund(payment_id=payment.pk, amount=2000, actor=FACTORY_ACTOR)

    assert refund.status == "succeeded"
    assert posted(wallet) == 20000 - 12500 + 2000
