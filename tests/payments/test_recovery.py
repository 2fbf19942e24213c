"""Every payment reaches a definite state, whatever broke: the ledger refusing what a connector
did, a connector that never received a request, a retried request whose first answer was lost."""

from datetime import timedelta

import pytest
import time_machine

from apps.core import clock
from apps.core.idempotency import IdempotencyKeyReused
from apps.ledger.models import Account
from apps.payments import domain, services
from apps.payments.models import Payment, Refund
from apps.routing.data import ConnectorResult, Outcome
from tests.factories.merchants import FACTORY_ACTOR
from tests.payments.conftest import (
    UNKNOWN,
    WALLET_FUNDS,
    clearing,
    create_payment,
    journal,
    merchant_account,
    payment_transfers,
    posted,
    processed,
    wallet_method,
    webhook_types,
)

pytestmark = pytest.mark.django_db

LOST = ConnectorResult(Outcome.UNKNOWN, error_code="not_found", message="no such operation", not_received=True)


def _freeze_merchant_pending(merchant) -> None:
    Account.objects.filter(merchant_id=merchant.pk, code="merchant_pending").update(frozen=True)


# --- the ledger refuses what the connector did ------------------------------------------------


def test_a_capture_the_ledger_refuses_fails_the_payment_for_review_and_moves_nothing(merchant, routing):
    _freeze_merchant_pending(merchant)

    payment = processed(merchant)

    attempt = payment.attempts.get()
    assert (payment.status, payment.failure_code) == ("failed", "ledger_refused")
    assert (payment.amount_authorized, payment.amount_captured, payment.connector) == (0, 0, "")
    # The attempt says what the connector did, and waits for a person to give the money back.
    assert (attempt.status, attempt.needs_review, attempt.error_code) == ("captured", True, "ledger_account_frozen")
    assert attempt.connector_reference == "ref-1"
    assert payment_transfers(payment) == []
    assert "payment.ledger_refused" in journal(attempt.pk)
    assert webhook_types(payment) == ["payment.failed"]


def test_a_ledger_refusal_is_final_and_a_replayed_answer_does_nothing(merchant, routing):
    _freeze_merchant_pending(merchant)
    payment = processed(merchant)
    attempt = payment.attempts.get()

    # The connector's answer again (a redelivered task, a late inquiry): nothing loops.
    assert services.payment_attempt_record(attempt_id=attempt.pk, result=ConnectorResult(Outcome.APPROVED)) is False
    with time_machine.travel(clock.now() + timedelta(hours=1), tick=False):
        report = services.payments_janitor()
    assert (report.inquired, report.redriven, report.errors) == (0, 0, [])
    payment.refresh_from_db()
    assert payment.status == "failed"
    assert len(routing["alpha"].calls) == 1


def test_a_manual_capture_the_ledger_refuses_fails_the_payment_for_review(merchant, routing):
    payment = processed(merchant, capture_method="manual")
    assert payment.status == "requires_capture"
    _freeze_merchant_pending(merchant)

    capture = services.payment_capture(payment_id=payment.pk, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    attempt = payment.attempts.get()
    assert capture.status == "succeeded"  # the connector did capture
    assert (payment.status, payment.failure_code, payment.amount_authorized) == ("failed", "ledger_refused", 0)
    assert (attempt.status, attempt.needs_review) == ("captured", True)
    assert payment_transfers(payment) == []


def test_a_wallet_payment_the_ledger_refuses_was_never_taken(merchant, routing, customer_wallet):
    _freeze_merchant_pending(merchant)

    routing.order = ["wallet"]

    payment = processed(merchant, payment_method=wallet_method(customer_wallet))

    attempt = payment.attempts.get()
    assert (payment.status, payment.failure_code) == ("failed", "account_frozen")
    assert (attempt.status, attempt.needs_review) == ("declined", False)
    assert payment_transfers(payment) == []
    assert posted(customer_wallet) == WALLET_FUNDS


# --- a connector that never received the request ----------------------------------------------


def _unknown_payment(merchant, routing) -> Payment:
    routing["alpha"].answer("authorize", UNKNOWN)
    with time_machine.travel(clock.now(), tick=False):
        payment = processed(merchant)
    assert payment.attempts.get().status == "unknown"
    return payment


def _janitor_at(moment) -> None:
    with time_machine.travel(moment, tick=False):
        services.payments_janitor()


def test_a_request_a_deduplicating_rail_never_received_is_sent_again_with_the_same_key(merchant, routing):
    routing["alpha"].resends_safely = True
    routing["alpha"].answer("inquire", LOST)
    payment = _unknown_payment(merchant, routing)
    attempt = payment.attempts.get()

    _janitor_at(attempt.next_inquiry_at)

    payment.refresh_from_db()
    assert payment.status == "succeeded"
    sent = routing["alpha"].operations("authorize")
    assert [call["idempotency_key"] for call in sent] == [attempt.idempotency_key] * 2
    assert sent[0] == sent[1]
    assert len(payment_transfers(payment)) == 1


def test_a_request_a_rail_never_received_fails_over_once_it_has_said_so_for_long_enough(merchant, routing):
    routing["alpha"].answer("inquire", *[LOST] * domain.NOT_RECEIVED_ANSWERS)
    payment = _unknown_payment(merchant, routing)
    attempt = payment.attempts.get()
    start = attempt.created_at

    # Two answers in the first seconds: not believed yet.
    for seconds in (3, 10):
        _janitor_at(start + timedelta(seconds=seconds))
    attempt.refresh_from_db()
    assert (attempt.status, attempt.not_received_answers) == ("unknown", 2)
    # The third, past the grace period: the attempt failed, nothing was taken, beta is tried.
    _janitor_at(start + domain.NOT_RECEIVED_GRACE + timedelta(seconds=30))
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error_code, attempt.retryable) == ("failed", "not_received", True)
    services.payment_process(payment_id=payment.pk)  # the payments.process message it sent
    payment.refresh_from_db()
    assert (payment.status, payment.connector) == ("succeeded", "beta")
    assert len(routing["alpha"].operations("authorize")) == 1  # never sent again blindly
    assert posted(clearing("beta")) == -payment.amount
    assert posted(merchant_account(payment, "merchant_pending")) == payment.amount


def test_a_rail_that_says_never_received_too_early_is_asked_again(merchant, routing):
    routing["alpha"].answer("inquire", *[LOST] * 5)
    payment = _unknown_payment(merchant, routing)
    start = payment.attempts.get().created_at

    for seconds in (3, 10, 30):
        _janitor_at(start + timedelta(seconds=seconds))

    attempt = payment.attempts.get()
    assert (attempt.status, attempt.not_received_answers) == ("unknown", 3)


# --- a retried request whose first answer was lost --------------------------------------------


def test_a_retried_payment_request_returns_the_payment_its_key_made(merchant, routing):
    first = create_payment(merchant, idempotency_key="order-7-try")
    again = create_payment(merchant, idempotency_key="order-7-try")

    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    # In the other mode, or without a key, it is another payment.
    assert create_payment(merchant, idempotency_key="order-7-try", livemode=True).pk != first.pk
    assert create_payment(merchant).pk != first.pk


def test_a_key_reused_for_another_payment_is_refused_however_old_it_is(merchant, routing):
    create_payment(merchant, idempotency_key="k-1", amount=100)

    with time_machine.travel(clock.now() + timedelta(days=30), tick=False), \
            pytest.raises(IdempotencyKeyReused, match="with other details"):
        create_payment(merchant, idempotency_key="k-1", amount=200)
    assert Payment.objects.count() == 1


def test_a_retried_refund_request_returns_the_refund_its_key_made(merchant, routing):
    payment = processed(merchant)

    first = services.payment_refund(payment_id=payment.pk, amount=100, idempotency_key="r-1", actor=FACTORY_ACTOR)
    again = services.payment_refund(payment_id=payment.pk, amount=100, idempotency_key="r-1", actor=FACTORY_ACTOR)

    assert again.pk == first.pk
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert payment.amount_refund_reserved == 100
    with pytest.raises(IdempotencyKeyReused):
        services.payment_refund(payment_id=payment.pk, amount=200, idempotency_key="r-1", actor=FACTORY_ACTOR)
