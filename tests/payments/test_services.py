"""The payment lifecycle, through its services, with scripted connectors."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from apps.audit.models import AuditEvent
from apps.core import clock, ids
from apps.ledger.models import Transfer
from apps.payments import services
from apps.payments.exceptions import (
    CancelDeclined,
    CaptureAlreadyRequested,
    CaptureExceedsAuthorized,
    CardNumberRefused,
    InsufficientBalance,
    InvalidPayment,
    NoConnectorAvailable,
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotRefundable,
    RefundExceedsCaptured,
    WalletNotFound,
)
from apps.payments.models import Capture, Payment, PaymentAttempt, Refund
from apps.payments.services import payments as payments_module
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import FACTORY_ACTOR
from tests.ledger.conftest import in_threads
from tests.payments.conftest import (
    PENDING,
    UNKNOWN,
    clearing,
    create_payment,
    declined,
    error,
    journal,
    merchant_account,
    outbox_tasks,
    payment_transfers,
    posted,
    processed,
    wallet_method,
    webhook_types,
)

pytestmark = pytest.mark.django_db



def test_a_payment_is_accepted_processing_with_its_message_queued_at_its_methods_priority(merchant, routing):
    payment = create_payment(merchant, reference="order-1", metadata={"customer": "c-7"})

    assert payment.status == Payment.Status.PROCESSING
    assert (payment.amount, payment.currency, payment.method, payment.livemode) == (12500, "BHD", "card", False)
    assert payment.priority == settings.FINCORE_PAYMENT_PRIORITIES["card"]
    assert outbox_tasks() == [("payments.process", {"payment_id": str(payment.pk)}, payment.priority)]
    assert journal(payment.pk) == ["payment.created"]
    assert routing["alpha"].calls == []


@pytest.mark.parametrize("where", ["token", "reference", "metadata"])
def test_a_card_number_anywhere_is_refused_and_nothing_is_written(merchant, routing, where):
    pan = "4242 4242 4242 4242"
    fields = {
        "token": {"payment_method": {"type": "card", "token": pan}},
        "reference": {"reference": f"card {pan}"},
        "metadata": {"metadata": {"note": pan.replace(" ", "")}},
    }[where]
    with pytest.raises(CardNumberRefused):
        create_payment(merchant, **fields)
    assert not Payment.objects.exists()
    assert outbox_tasks() == []


def test_manual_capture_is_refused_for_push_rails(merchant, routing):
    with pytest.raises(InvalidPayment):
        create_payment(merchant, payment_method={"type": "instant", "iban": "BH67BMAG00001299123456"},
                       capture_method="manual")


def test_an_approved_card_payment_is_captured_and_posted_to_the_merchants_pending_balance(merchant, routing):
    payment = processed(merchant)

    assert payment.status == Payment.Status.SUCCEEDED
    assert (payment.amount_authorized, payment.amount_captured, payment.connector) == (12500, 12500, "alpha")
    [attempt] = payment.attempts.all()
    assert (attempt.status, attempt.connector, attempt.connector_reference) == ("captured", "alpha", "ref-1")
    assert attempt.routing["candidates"] == ["alpha", "beta"]
    [call] = routing["alpha"].operations("authorize")
    assert call["idempotency_key"] == f"{ids.encode('pay', payment.pk)}:1"
    assert call["capture"] is True
    [capture] = payment_transfers(payment)
    assert capture.client_id == f"fincore:{ids.encode('pay', payment.pk)}:capture"
    assert (capture.amount, capture.debit_account_id, capture.credit_account_id) == (
        12500, clearing("alpha").pk, merchant_account(payment, "merchant_pending").pk)
    assert posted(merchant_account(payment, "merchant_pending")) == 12500
    assert webhook_types(payment) == ["payment.succeeded"]
    assert journal(payment.pk) == ["payment.created", "payment.succeeded"]
    assert routing.reports == [("alpha", "approved")]


def test_a_hard_decline_fails_the_payment_without_failover_or_money(merchant, routing):
    routing["alpha"].answer("authorize", declined("do_not_honor"))

    payment = processed(merchant)

    assert payment.status == Payment.Status.FAILED
    assert (payment.failure_code, payment.amount_authorized) == ("do_not_honor", 0)
    assert [a.status for a in payment.attempts.all()] == ["declined"]
    assert routing["beta"].calls == []
    assert payment_transfers(payment) == []
    assert webhook_types(payment) == ["payment.failed"]


def test_a_retryable_error_fails_over_to_the_next_candidate(merchant, routing):
    routing["alpha"].answer("authorize", error("processor_unavailable"))

    payment = processed(merchant)

    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.connector == "beta"
    attempts = list(payment.attempts.order_by("sequence"))
    assert [(a.connector, a.status, a.error_code, a.retryable) for a in attempts] == [
        ("alpha", "failed", "processor_unavailable", True), ("beta", "captured", "", False)]
    assert [exclude for _, exclude in routing.decisions] == [frozenset(), frozenset({"alpha"})]
    assert attempts[1].idempotency_key.endswith(":2")
    [capture] = payment_transfers(payment)
    assert capture.debit_account_id == clearing("beta").pk


def test_when_every_candidate_fails_retryably_the_payment_fails_with_the_last_error(merchant, routing):
    routing["alpha"].answer("authorize", error("connector_unavailable"))
    routing["beta"].answer("authorize", declined("try_again_later", retryable=True))

    payment = processed(merchant)

    assert (payment.status, payment.failure_code) == ("failed", "try_again_later")
    assert payment.attempts.count() == 2


def test_a_payment_no_connector_can_take_is_refused_and_nothing_is_written(merchant, routing):
    routing.order = []
    journaled = AuditEvent.objects.count()

    with pytest.raises(NoConnectorAvailable, match="no connector is eligible"):
        create_payment(merchant)

    assert not Payment.objects.exists()
    assert AuditEvent.objects.count() == journaled
    assert outbox_tasks() == []


def test_a_payment_whose_connectors_went_away_after_it_was_accepted_fails_with_no_route(merchant, routing):
    payment = create_payment(merchant)
    routing.order = []  # disabled, say, between acceptance and processing

    services.payment_process(payment_id=payment.pk)

    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "no_route")
    assert payment.failure_message == "no connector is eligible"
    assert not payment.attempts.exists()


def test_an_unknown_outcome_is_never_retried_and_the_janitor_learns_it(merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    routing["alpha"].answer("inquire", UNKNOWN)

    with time_machine.travel(clock.now(), tick=False):
        payment = processed(merchant)
    [attempt] = payment.attempts.all()
    assert (payment.status, attempt.status) == ("processing", "unknown")
    assert routing["beta"].calls == []
    assert attempt.next_inquiry_at == attempt.updated_at + timedelta(seconds=2)

    services.payment_process(payment_id=payment.pk)  # a duplicate message: nothing new
    assert len(routing["alpha"].operations("authorize")) == 1

    with time_machine.travel(clock.now() + timedelta(seconds=3), tick=False):
        services.payments_janitor()  # still unknown: asked again later
    attempt.refresh_from_db()
    assert (attempt.status, attempt.inquiries) == ("unknown", 1)
    with time_machine.travel(clock.now() + timedelta(seconds=10), tick=False):
        report = services.payments_janitor()
    assert report.inquired == 1

    payment.refresh_from_db()
    attempt.refresh_from_db()
    assert (payment.status, attempt.status) == ("succeeded", "captured")
    assert [call["idempotency_key"] for call in routing["alpha"].operations("inquire")] == [attempt.idempotency_key] * 2
    assert len(payment_transfers(payment)) == 1


def test_a_redelivered_task_never_calls_the_connector_again_for_an_attempt_in_flight(merchant, routing):
    payment = create_payment(merchant)
    # The first delivery committed its attempt and died during the connector call.
    attempt = payments_module._attempt_next(payment.pk)
    assert attempt.status == PaymentAttempt.Status.PROCESSING

    services.payment_process(payment_id=payment.pk)

    attempt.refresh_from_db()
    assert (attempt.status, attempt.error_code) == ("unknown", "interrupted")
    assert routing["alpha"].calls == []
    services.payments_janitor()
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert [name for name, _ in routing["alpha"].calls] == ["inquire"]


def test_a_pending_wire_is_confirmed_later_by_the_janitor(merchant, routing):
    routing["alpha"].answer("authorize", PENDING)
    routing["alpha"].answer("inquire", PENDING)

    payment = processed(merchant, payment_method={"type": "wire", "iban": "BH67BMAG00001299123456",
                                                  "bic": "BMAGBHBM"})
    assert payment.priority == settings.FINCORE_PAYMENT_PRIORITIES["wire"]
    assert payment.attempts.get().status == "pending"
    for seconds in (3, 10):
        with time_machine.travel(clock.now() + timedelta(seconds=seconds), tick=False):
            services.payments_janitor()
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_an_attempt_unresolved_for_three_days_is_flagged_for_review(merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    routing["alpha"].answer("inquire", *[UNKNOWN] * 3)
    payment = processed(merchant)

    with time_machine.travel(clock.now() + timedelta(days=3, seconds=1), tick=False):
        services.payments_janitor()
    attempt = payment.attempts.get()
    assert attempt.needs_review
    assert attempt.status == "unknown"
    assert attempt.next_inquiry_at == attempt.updated_at + timedelta(seconds=5)
    assert "payment.attempt_needs_review" in journal(attempt.pk)


def test_the_janitor_turns_a_long_stale_processing_attempt_unknown(merchant, routing):
    payment = create_payment(merchant)
    payments_module._attempt_next(payment.pk)

    services.payments_janitor()
    assert payment.attempts.get().status == "processing"
    with time_machine.travel(clock.now() + timedelta(minutes=4), tick=False):
        report = services.payments_janitor()
    assert (report.interrupted, report.inquired) == (1, 1)
    # Asked, never called again.
    assert payment.attempts.get().status == "captured"
    assert [name for name, _ in routing["alpha"].calls] == ["inquire"]


def test_the_janitor_sends_a_payment_whose_message_was_lost_to_processing_again(merchant, routing):
    payment = create_payment(merchant)  # its payments.process message is then dead-lettered
    services.payments_janitor()
    assert len(outbox_tasks()) == 1

    with time_machine.travel(clock.now() + timedelta(minutes=4), tick=False):
        report = services.payments_janitor()
        services.payments_janitor()  # not twice in a row

    assert report.redriven == 1
    assert outbox_tasks()[1:] == [("payments.process", {"payment_id": str(payment.pk)}, payment.priority)]
    assert "payment.redriven" in journal(payment.pk)


# --- manual capture and cancel ------------------------------------------------------------


def test_manual_capture_authorizes_then_captures_part_and_releases_the_rest(merchant, routing):
    payment = processed(merchant, capture_method="manual", amount=25000)
    assert (payment.status, payment.amount_authorized, payment.amount_captured) == ("requires_capture", 25000, 0)
    assert routing["alpha"].operations("authorize")[0]["capture"] is False
    assert payment_transfers(payment) == []

    capture = services.payment_capture(payment_id=payment.pk, amount=20000, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    assert capture.status == Capture.Status.SUCCEEDED
    assert (payment.status, payment.amount_captured) == ("succeeded", 20000)
    assert payment.attempts.get().status == "captured"
    [call] = routing["alpha"].operations("capture")
    assert (call["amount"], call["reference"]) == (20000, "ref-1")
    [transfer] = payment_transfers(payment)
    assert transfer.amount == 20000
    assert webhook_types(payment) == ["payment.requires_capture", "payment.captured", "payment.succeeded"]

    # The same capture again is the first one; another is refused; nothing is posted twice.
    assert services.payment_capture(payment_id=payment.pk, amount=20000, actor=FACTORY_ACTOR).pk == capture.pk
    with pytest.raises(PaymentNotCapturable):
        services.payment_capture(payment_id=payment.pk, amount=100, actor=FACTORY_ACTOR)
    assert len(routing["alpha"].operations("capture")) == 1
    assert len(payment_transfers(payment)) == 1


def test_a_capture_beyond_the_authorization_is_refused(merchant, routing):
    payment = processed(merchant, capture_method="manual", amount=25000)
    with pytest.raises(CaptureExceedsAuthorized):
        services.payment_capture(payment_id=payment.pk, amount=25001, actor=FACTORY_ACTOR)
    assert not Capture.objects.exists()


def test_a_capture_without_answer_stays_pending_and_the_janitor_completes_it_once(merchant, routing):
    payment = processed(merchant, capture_method="manual")
    routing["alpha"].answer("capture", UNKNOWN, error("connector_unavailable"))

    capture = services.payment_capture(payment_id=payment.pk, actor=FACTORY_ACTOR)
    assert capture.status == Capture.Status.PENDING
    with pytest.raises(CaptureAlreadyRequested):
        services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)

    with time_machine.travel(clock.now() + timedelta(seconds=16), tick=False):
        services.payments_janitor()  # an error: again later
    with time_machine.travel(clock.now() + timedelta(seconds=40), tick=False):
        services.payments_janitor()

    capture.refresh_from_db()
    payment.refresh_from_db()
    assert (capture.status, capture.attempts, payment.status) == ("succeeded", 3, "succeeded")
    keys = {call["idempotency_key"] for call in routing["alpha"].operations("capture")}
    assert keys == {capture.idempotency_key}
    assert len(payment_transfers(payment)) == 1


def test_cancel_voids_the_authorization(merchant, routing):
    payment = processed(merchant, capture_method="manual")

    capture = services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    assert (capture.kind, capture.status, payment.status) == ("void", "succeeded", "canceled")
    assert payment.attempts.get().status == "canceled"
    assert routing["alpha"].operations("void")[0]["reference"] == "ref-1"
    assert webhook_types(payment)[-1] == "payment.canceled"
    with pytest.raises(PaymentNotCapturable):
        services.payment_capture(payment_id=payment.pk, actor=FACTORY_ACTOR)


def test_a_captured_payment_cannot_be_canceled(merchant, routing):
    payment = processed(merchant)
    with pytest.raises(PaymentNotCancelable):
        services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)


def test_a_declined_void_leaves_the_payment_awaiting_capture(merchant, routing):
    payment = processed(merchant, capture_method="manual")
    routing["alpha"].answer("void", declined("void_refused"))

    with pytest.raises(CancelDeclined) as refused:
        services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)

    assert refused.value.extensions == {"connector_code": "void_refused"}
    capture = Capture.objects.get(payment=payment)
    payment.refresh_from_db()
    assert (capture.status, capture.error_code, payment.status) == ("failed", "void_refused", "requires_capture")
    assert services.payment_capture(payment_id=payment.pk, actor=FACTORY_ACTOR).status == "succeeded"


# --- refunds -------------------------------------------------------------------------------


def test_a_payment_is_not_refundable_before_it_succeeds(merchant, routing):
    payment = processed(merchant, capture_method="manual")
    with pytest.raises(PaymentNotRefundable):
        services.payment_refund(payment_id=payment.pk, actor=FACTORY_ACTOR)


def test_the_database_refuses_amounts_out_of_order(merchant, routing):
    payment = processed(merchant)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount_refund_reserved=payment.amount_captured + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount_captured=payment.amount + 1)


def test_the_database_refuses_a_change_of_amount_or_a_deletion(merchant, routing):
    payment = processed(merchant)
    # Changes every CHECK constraint allows: only the guard trigger stands in their way.
    for change in ({"amount": payment.amount + 1}, {"currency": "USD"}, {"livemode": True}):
        with pytest.raises(IntegrityError, match="never change"), transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(**change)
    # Past Django's on_delete=PROTECT, straight to PostgreSQL.
    with pytest.raises(IntegrityError, match="DELETE on payments_payment refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_payment WHERE id = %s", [payment.pk])
    assert Payment.objects.get(pk=payment.pk).amount == 12500
    assert Transfer.objects.count() == 1


def _refund_holds(refund) -> list[Transfer]:
    return list(Transfer.objects.filter(pk__in=[h for h in (refund.pending_hold_id, refund.available_hold_id) if h]))


def test_partial_refunds_up_to_the_captured_amount_and_not_a_unit_more(merchant, routing):
    payment = processed(merchant)
    pending = merchant_account(payment, "merchant_pending")

    first = services.payment_refund(payment_id=payment.pk, amount=5000, reason="damaged", actor=FACTORY_ACTOR)
    second = services.payment_refund(payment_id=payment.pk, amount=7500, actor=FACTORY_ACTOR)

    assert (first.status, second.status) == ("succeeded", "succeeded")
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.amount_refund_reserved) == (12500, 12500)
    assert posted(pending) == 0
    assert posted(clearing("alpha")) == 0  # captured 12.500 in, refunded 12.500 out
    assert [call["amount"] for call in routing["alpha"].operations("refund")] == [5000, 7500]
    assert routing["alpha"].operations("refund")[0]["idempotency_key"] == ids.encode("re", first.pk)
    journal_before, transfers_before = journal(payment.pk), Transfer.objects.count()
    with pytest.raises(RefundExceedsCaptured) as refused:
        services.payment_refund(payment_id=payment.pk, amount=1, actor=FACTORY_ACTOR)
    assert refused.value.extensions == {"amount_refundable": 0}
    assert (journal(payment.pk), Transfer.objects.count()) == (journal_before, transfers_before)
    assert webhook_types(payment).count("refund.succeeded") == 2


def test_a_refund_is_paid_from_pending_first_then_available(merchant, routing):
    payment = processed(merchant)
    pending = merchant_account(payment, "merchant_pending")
    available = merchant_account(payment, "merchant_available")
    # End of day moved 10.000 of it to available.
    outcome = ledger_factories.post_one(pending, available, 10000, livemode=False)
    assert outcome.result == "ok"

    refund = services.refund_create(payment_id=payment.pk, amount=4000, actor=FACTORY_ACTOR)

    holds = {hold.debit_account_id: hold.amount for hold in _refund_holds(refund)}
    assert holds == {pending.pk: 2500, available.pk: 1500}
    pending.refresh_from_db()
    available.refresh_from_db()
    assert (pending.debits_pending, available.debits_pending) == (2500, 1500)
    assert webhook_types(payment)[-1] == "refund.pending"

    services.refund_execute(refund_id=refund.pk)
    assert (posted(pending), posted(available)) == (0, 8500)


def test_a_refund_larger_than_the_merchants_balance_is_refused(merchant, routing):
    payment = processed(merchant)
    pending = merchant_account(payment, "merchant_pending")
    elsewhere = ledger_factories.account(livemode=False)
    assert ledger_factories.post_one(pending, elsewhere, 12000, livemode=False).result == "ok"

    with pytest.raises(InsufficientBalance):
        services.payment_refund(payment_id=payment.pk, amount=600, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    assert payment.amount_refund_reserved == 0
    assert not Refund.objects.exists()
    assert services.payment_refund(payment_id=payment.pk, amount=500, actor=FACTORY_ACTOR).status == "succeeded"


def test_a_declined_refund_releases_its_reservation(merchant, routing):
    payment = processed(merchant)
    routing["alpha"].answer("refund", declined("refund_refused"))

    refund = services.payment_refund(payment_id=payment.pk, amount=3000, actor=FACTORY_ACTOR)

    payment.refresh_from_db()
    pending = merchant_account(payment, "merchant_pending")
    assert (refund.status, refund.failure_code) == ("failed", "refund_refused")
    assert (payment.amount_refund_reserved, payment.amount_refunded) == (0, 0)
    assert (pending.debits_pending, posted(pending)) == (0, 12500)
    assert webhook_types(payment)[-2:] == ["refund.pending", "refund.failed"]


def test_a_refund_without_answer_stays_pending_until_the_janitor_completes_it(merchant, routing):
    payment = processed(merchant)
    routing["alpha"].answer("refund", UNKNOWN)

    refund = services.payment_refund(payment_id=payment.pk, amount=3000, actor=FACTORY_ACTOR)
    assert refund.status == "pending"
    with time_machine.travel(clock.now() + timedelta(seconds=16), tick=False):
        services.payments_janitor()

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.status, refund.attempts, payment.amount_refunded) == ("succeeded", 2, 3000)
    assert {c["idempotency_key"] for c in routing["alpha"].operations("refund")} == {refund.idempotency_key}


# --- wallets -------------------------------------------------------------------------------


def test_a_wallet_payment_moves_the_money_from_the_wallet_through_clearing_to_the_merchant(
        merchant, routing, customer_wallet):
    routing.order = ["wallet"]
    payment = processed(merchant, payment_method=wallet_method(customer_wallet))

    assert (payment.status, payment.connector) == ("succeeded", "wallet")
    assert posted(customer_wallet) == 20000 - 12500
    assert posted(clearing("wallet")) == 0
    assert posted(merchant_account(payment, "merchant_pending")) == 12500

    services.payment_refund(payment_id=payment.pk, amount=2500, actor=FACTORY_ACTOR)
    assert posted(customer_wallet) == 20000 - 10000
    assert posted(merchant_account(payment, "merchant_pending")) == 10000


def test_a_wallet_payment_beyond_the_wallets_balance_fails_with_insufficient_funds(merchant, routing, customer_wallet):
    routing.order = ["wallet"]
    payment = processed(merchant, payment_method=wallet_method(customer_wallet), amount=20001)

    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert payment.attempts.get().status == "declined"
    assert posted(customer_wallet) == 20000
    assert payment_transfers(payment) == []


def test_a_manual_wallet_payment_holds_then_takes_part_of_the_hold(merchant, routing, customer_wallet):
    routing.order = ["wallet"]
    payment = processed(merchant, payment_method=wallet_method(customer_wallet), capture_method="manual")
    customer_wallet.refresh_from_db()
    assert customer_wallet.debits_pending == 12500

    services.payment_capture(payment_id=payment.pk, amount=10000, actor=FACTORY_ACTOR)

    customer_wallet.refresh_from_db()
    assert (customer_wallet.debits_pending, posted(customer_wallet)) == (0, 10000)
    assert posted(merchant_account(payment, "merchant_pending")) == 10000


def test_a_canceled_wallet_payment_releases_its_hold(merchant, routing, customer_wallet):
    routing.order = ["wallet"]
    payment = processed(merchant, payment_method=wallet_method(customer_wallet), capture_method="manual")

    services.payment_cancel(payment_id=payment.pk, actor=FACTORY_ACTOR)

    customer_wallet.refresh_from_db()
    assert (customer_wallet.debits_pending, posted(customer_wallet)) == (0, 20000)


def test_a_wallet_must_be_the_merchants_own_in_the_payments_mode_and_currency(merchant, routing, customer_wallet):
    other = ledger_factories.wallet(livemode=False)
    live = ledger_factories.wallet(merchant_id=merchant.pk, livemode=True)
    usd = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False, currency="USD")
    for wallet in (other, live, usd):
        with pytest.raises(WalletNotFound):
            create_payment(merchant, payment_method=wallet_method(wallet))


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_captured_amount(merchant, routing):
    payment = processed(merchant)

    def refund(number: int) -> str:
        try:
            return services.payment_refund(payment_id=payment.pk, amount=2500, actor=FACTORY_ACTOR).status
        except RefundExceedsCaptured:
            return "refused"

    results = in_threads(refund, 8)

    assert sorted(results) == ["refused"] * 3 + ["succeeded"] * 5
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.amount_refund_reserved) == (12500, 12500)
    assert posted(merchant_account(payment, "merchant_pending")) == 0
