"""A payment from its creation to its first final outcome: processing, then requires_capture,
succeeded or failed.

    payment_create           one transaction: the payment, its audit row, the payments.process message
    payment_process          (the task) route, record an attempt, call the connector outside any
                             transaction with the attempt's idempotency key, record the answer;
                             a retryable failure moves on to the next candidate
    payment_attempt_record   one connector answer applied, in one transaction
    payment_attempt_inquiry_record   an answer of the janitor's inquiry applied

An attempt found still ``processing`` by a redelivered task is never called again: its worker
may have died after the connector acted. It becomes ``unknown`` and the janitor asks the
connector what happened.
"""

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.core import clock, ids
from apps.core.actors import Actor
from apps.events.outbox import services as events_services
from apps.ledger import selectors as ledger_selectors
from apps.payments import connectors, domain, locks, postings
from apps.payments.exceptions import CardNumberRefused, InvalidPayment, WalletNotFound
from apps.payments.models import Payment, PaymentAttempt
from apps.payments.services.common import (
    PROCESS_TASK,
    QUEUE,
    SYSTEM,
    announce,
    call_connector,
    description,
    journal,
    snapshot,
    touch,
)
from apps.routing import data as routing_data

logger = logging.getLogger(__name__)

Outcome = routing_data.Outcome
# However many connectors are eligible, a payment is tried at this many at most.
MAX_ATTEMPTS = 5
# A task still calling the connector after this long is dead (the task's hard time limit is
# 90 s): the janitor turns its attempt unknown and asks the connector.
STALE_PROCESSING = timedelta(minutes=3)
NO_ROUTE = "no_route"


def _validate_wallet(*, merchant_id: UUID, livemode: bool, currency: str, payment_method: dict[str, Any]) -> None:
    account_id = ids.decode("acc", payment_method.get("account", ""))
    wallet = ledger_selectors.customer_account_get(merchant_id=merchant_id, livemode=livemode,
                                                   account_id=account_id) if account_id else None
    if wallet is None or wallet.code != "wallet" or wallet.currency != currency:
        raise WalletNotFound(
            f"{payment_method.get('account')!r} is not one of your {currency} wallets in "
            f"{'live' if livemode else 'test'} mode."
        )


def payment_create(
    *,
    merchant_id: UUID,
    livemode: bool,
    amount: int,
    currency: str,
    country: str,
    payment_method: dict[str, Any],
    capture_method: str = Payment.CaptureMethod.AUTOMATIC,
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    actor: Actor,
) -> Payment:
    """Accept a payment (``processing``) and queue its processing on the payments queue at its
    method's priority, in one transaction. Raises CardNumberRefused (a card number anywhere in
    it), InvalidPayment, WalletNotFound."""
    metadata = dict(metadata or {})
    if domain.contains_card_number([payment_method, metadata, reference]):
        raise CardNumberRefused(
            "Something in payment_method, reference or metadata looks like a card number. fincore never takes "
            "card numbers: send the token of your card vault as payment_method.token."
        )
    method = payment_method.get("type")
    if method not in Payment.Method.values:
        raise InvalidPayment(f"payment_method.type must be one of {', '.join(Payment.Method.values)}.")
    if capture_method == Payment.CaptureMethod.MANUAL and method in (Payment.Method.INSTANT, Payment.Method.WIRE):
        raise InvalidPayment(f"{method} payments are final when made: capture_method manual is for cards and wallets.")
    if method == Payment.Method.WALLET:
        _validate_wallet(merchant_id=merchant_id, livemode=livemode, currency=currency, payment_method=payment_method)
    now = clock.now()
    with transaction.atomic():
        payment = Payment.objects.create(
            merchant_id=merchant_id, livemode=livemode, amount=amount, currency=currency, country=country,
            method=method, payment_method=payment_method, capture_method=capture_method, reference=reference,
            metadata=metadata, priority=settings.FINCORE_PAYMENT_PRIORITIES[method], created_at=now, updated_at=now,
        )
        journal(actor=actor, action="payment.created", obj=payment, payment=payment, after=snapshot(payment))
        events_services.outbox_enqueue(
            task=PROCESS_TASK, kwargs={"payment_id": str(payment.pk)}, queue=QUEUE, priority=payment.priority
        )
    return payment


# --- processing ----------------------------------------------------------------------------


def payment_process(*, payment_id: UUID) -> None:
    """Try the payment at its connectors until one gives a final answer, or the outcome is left
    to the janitor (unknown or pending). Idempotent: a payment no longer processing, or with
    an attempt in flight, is left alone."""
    while True:
        attempt = _attempt_start(payment_id)
        if attempt is None:
            return
        payment = attempt.payment
        result = call_connector(
            attempt.connector, "authorize", idempotency_key=attempt.idempotency_key, payment_id=payment.pk,
            amount=payment.amount, currency=payment.currency, payment_method=payment.payment_method,
            capture=payment.capture_method == Payment.CaptureMethod.AUTOMATIC,
        )
        connectors.report(connector=attempt.connector, description=description(payment), result=result)
        if not payment_attempt_record(attempt_id=attempt.pk, result=result, continue_here=True):
            return


def _attempt_start(payment_id: UUID) -> PaymentAttempt | None:
    """The next attempt, committed before its connector is called; None when there is nothing
    to do now."""
    with transaction.atomic():
        payment = locks.payment_lock(payment_id)
        if payment.status != Payment.Status.PROCESSING:
            return None
        attempts = list(payment.attempts.select_for_update().order_by("sequence"))
        in_flight = [attempt for attempt in attempts if attempt.status in PaymentAttempt.IN_FLIGHT]
        if in_flight:
            if in_flight[0].status == PaymentAttempt.Status.PROCESSING:
                _attempt_interrupted(payment, in_flight[0])
            return None
        last = attempts[-1] if attempts else None
        if len(attempts) >= MAX_ATTEMPTS:
            _payment_fail(payment, code=last.error_code or last.status, message=last.message)
            return None
        decision = connectors.decide(description=description(payment),
                                     exclude={attempt.connector for attempt in attempts})
        if not decision.candidates:
            if last is not None:
                _payment_fail(payment, code=last.error_code or last.status, message=last.message)
            else:
                _payment_fail(payment, code=NO_ROUTE, message=decision.reason)
            return None
        now = clock.now()
        sequence = len(attempts) + 1
        attempt = PaymentAttempt.objects.create(
            payment=payment, sequence=sequence, connector=decision.candidates[0], routing=decision.as_dict(),
            idempotency_key=f"{ids.encode('pay', payment.pk)}:{sequence}", created_at=now, updated_at=now,
        )
    return attempt


def _attempt_interrupted(payment: Payment, attempt: PaymentAttempt) -> None:
    """An attempt left ``processing``: the connector may have acted. Unknown, for the janitor."""
    now = clock.now()
    attempt.status = PaymentAttempt.Status.UNKNOWN
    attempt.error_code = "interrupted"
    attempt.message = "The connector call was interrupted before its answer was recorded."
    attempt.next_inquiry_at = now
    touch(attempt, "status", "error_code", "message", "next_inquiry_at")
    journal(actor=SYSTEM, action="payment.attempt_interrupted", obj=attempt, payment=payment,
            after={"status": attempt.status, "connector": attempt.connector})


def _payment_fail(payment: Payment, *, code: str, message: str) -> None:
    before = snapshot(payment)
    payment.status = Payment.Status.FAILED
    payment.failure_code = code[:64]
    payment.failure_message = message[:500]
    touch(payment, "status", "failure_code", "failure_message")
    journal(actor=SYSTEM, action="payment.failed", obj=payment, payment=payment, before=before,
            after=snapshot(payment))
    announce(event_type="payment.failed", payment=payment)


def _payment_approved(payment: Payment, attempt: PaymentAttempt, result: routing_data.ConnectorResult) -> None:
    """The connector authorized (and, with automatic capture, captured) the payment."""
    automatic = payment.capture_method == Payment.CaptureMethod.AUTOMATIC
    before = snapshot(payment)
    payment.connector = attempt.connector
    if payment.method == Payment.Method.WALLET:
        try:
            if automatic:
                postings.wallet_collect(payment)
            else:
                payment.wallet_hold_id = postings.wallet_hold(payment)
        except postings.TransferRefused as refused:
            # The wallet is the ledger: its balance, not the wallet connector, decides.
            attempt.status = PaymentAttempt.Status.DECLINED
            attempt.error_code = refused.code
            attempt.message = refused.detail[:500]
            attempt.resolved_at = clock.now()
            touch(attempt, "status", "error_code", "message", "resolved_at", "next_inquiry_at", "needs_review")
            payment.connector = ""
            _payment_fail(payment, code=refused.code, message=refused.detail)
            return
    attempt.status = PaymentAttempt.Status.CAPTURED if automatic else PaymentAttempt.Status.AUTHORIZED
    attempt.connector_reference = result.reference[:255]
    attempt.resolved_at = clock.now()
    touch(attempt, "status", "connector_reference", "resolved_at", "next_inquiry_at", "error_code", "message",
          "needs_review")
    payment.amount_authorized = payment.amount
    if automatic:
        payment.amount_captured = payment.amount
        payment.captured_at = attempt.resolved_at
        postings.capture_post(payment, amount=payment.amount)
        payment.status = Payment.Status.SUCCEEDED
    else:
        payment.status = Payment.Status.REQUIRES_CAPTURE
    touch(payment, "status", "connector", "amount_authorized", "amount_captured", "captured_at", "wallet_hold_id")
    journal(actor=SYSTEM, action=f"payment.{payment.status}", obj=payment, payment=payment, before=before,
            after=snapshot(payment))
    announce(event_type=f"payment.{payment.status}", payment=payment)


def payment_attempt_record(*, attempt_id: UUID, result: routing_data.ConnectorResult,
                           continue_here: bool = False) -> bool:
    """Apply a connector's answer to an attempt (and its payment), in one transaction.

    Approved: succeeded (captured, posted to the ledger) or requires_capture. Declined or
    error: failed, unless retryable, when the next candidate is tried — by the caller when
    ``continue_here`` (returns True), else by a payments.process message sent in this
    transaction. Unknown or pending: the janitor asks later. An attempt already resolved is
    left alone (a replay). Returns whether the caller should try the next candidate now.
    """
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if attempt.status not in PaymentAttempt.IN_FLIGHT:
            if (result.outcome == Outcome.APPROVED and attempt.status not in PaymentAttempt.APPROVED
                    and not attempt.needs_review):
                # The connector took the money of an attempt already closed as not taken.
                logger.error("connector approved a closed attempt", extra={"attempt_id": str(attempt.pk)})
                attempt.needs_review = True
                touch(attempt, "needs_review")
                journal(actor=SYSTEM, action="payment.attempt_approved_after_close", obj=attempt, payment=payment,
                        after={"status": attempt.status, "reference": result.reference})
            return False
        now = clock.now()
        attempt.error_code = result.error_code[:64]
        attempt.message = result.message[:500]
        attempt.next_inquiry_at = None
        if result.outcome in (Outcome.UNKNOWN, Outcome.PENDING):
            attempt.status = (PaymentAttempt.Status.PENDING if result.outcome == Outcome.PENDING
                              else PaymentAttempt.Status.UNKNOWN)
            attempt.connector_reference = result.reference[:255] or attempt.connector_reference
            attempt.next_inquiry_at = now + domain.next_inquiry_delay(attempt.inquiries)
            touch(attempt, "status", "error_code", "message", "connector_reference", "next_inquiry_at")
            journal(actor=SYSTEM, action=f"payment.attempt_{attempt.status}", obj=attempt, payment=payment,
                    after={"status": attempt.status, "connector": attempt.connector, "error_code": attempt.error_code})
            return False
        # A final answer ends any review; except the one below, which starts one.
        attempt.needs_review = False
        if payment.status != Payment.Status.PROCESSING:
            # Resolved by a person meanwhile: keep the connector's word on the attempt, and if it
            # took the money after all, a person must give it back (flagged for review).
            attempt.status = _final_status(result, payment)
            attempt.needs_review = result.outcome == Outcome.APPROVED
            attempt.resolved_at = now
            touch(attempt, "status", "error_code", "message", "next_inquiry_at", "needs_review", "resolved_at")
            return False
        if result.outcome == Outcome.APPROVED:
            _payment_approved(payment, attempt, result)
            return False
        # Declined, or a technical error: nothing was taken.
        attempt.status = (PaymentAttempt.Status.DECLINED if result.outcome == Outcome.DECLINED
                          else PaymentAttempt.Status.FAILED)
        attempt.retryable = result.retryable
        attempt.resolved_at = now
        touch(attempt, "status", "error_code", "message", "retryable", "resolved_at", "next_inquiry_at",
              "needs_review")
        journal(actor=SYSTEM, action=f"payment.attempt_{attempt.status}", obj=attempt, payment=payment,
                after={"status": attempt.status, "connector": attempt.connector, "error_code": attempt.error_code,
                       "retryable": attempt.retryable})
        if result.retryable:
            if continue_here:
                return True
            events_services.outbox_enqueue(task=PROCESS_TASK, kwargs={"payment_id": str(payment.pk)}, queue=QUEUE,
                                           priority=payment.priority)
            return False
        _payment_fail(payment, code=attempt.error_code or attempt.status, message=attempt.message)
        return False


def _final_status(result: routing_data.ConnectorResult, payment: Payment) -> str:
    """An approved, declined or failed answer as an attempt's status."""
    if result.outcome == Outcome.APPROVED:
        return (PaymentAttempt.Status.CAPTURED if payment.capture_method == Payment.CaptureMethod.AUTOMATIC
                else PaymentAttempt.Status.AUTHORIZED)
    if result.outcome == Outcome.DECLINED:
        return PaymentAttempt.Status.DECLINED
    return PaymentAttempt.Status.FAILED


def payment_attempt_inquiry_record(*, attempt_id: UUID, result: routing_data.ConnectorResult) -> None:
    """Apply the answer to the janitor's question about an unknown or pending attempt.

    Approved or declined: the outcome, as if the connector had said so at once. Anything else
    (still unknown, still pending, or the inquiry itself failed) tells nothing: ask again
    later, on the backoff schedule; past REVIEW_AFTER the attempt is flagged for a person.
    """
    if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
        payment_attempt_record(attempt_id=attempt_id, result=result)
        return
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if attempt.status not in PaymentAttempt.UNRESOLVED:
            return
        now = clock.now()
        attempt.inquiries += 1
        attempt.next_inquiry_at = now + domain.next_inquiry_delay(attempt.inquiries)
        fields = ["inquiries", "next_inquiry_at"]
        if not attempt.needs_review and now - attempt.created_at >= domain.REVIEW_AFTER:
            attempt.needs_review = True
            fields.append("needs_review")
            journal(actor=SYSTEM, action="payment.attempt_needs_review", obj=attempt, payment=payment,
                    after={"status": attempt.status, "inquiries": attempt.inquiries})
        touch(attempt, *fields)


def payment_attempt_inquire(*, attempt_id: UUID) -> None:
    """Ask the connector about an unknown or pending attempt now, and record the answer."""
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    if attempt.status not in PaymentAttempt.UNRESOLVED:
        return
    result = call_connector(attempt.connector, "inquire", idempotency_key=attempt.idempotency_key)
    payment_attempt_inquiry_record(attempt_id=attempt_id, result=result)


def payment_attempt_inquire_now(*, attempt_id: UUID, actor: Actor, reason: str) -> None:
    """A person asks the connector about an unresolved attempt now (the admin's action)."""
    attempt = PaymentAttempt.objects.select_related("payment").get(pk=attempt_id)
    if attempt.status not in PaymentAttempt.UNRESOLVED:
        raise InvalidPayment(f"Attempt #{attempt.sequence} is {attempt.status}: there is nothing to ask.")
    with transaction.atomic():
        journal(actor=actor, action="payment.attempt_inquired", obj=attempt, payment=attempt.payment,
                after={"status": attempt.status}, reason=reason)
    payment_attempt_inquire(attempt_id=attempt_id)


def payment_attempt_resolve_declined(*, attempt_id: UUID, actor: Actor, reason: str) -> None:
    """A person closes an unresolved attempt as not done, having confirmed with the connector (its
    back office, a statement) that nothing was taken. The payment then moves on as after a
    decline: it fails, and nothing moves in the ledger. Journaled with the person and reason.
    Raises InvalidPayment for an attempt that is not unknown or pending, or without a reason."""
    if not reason.strip():
        raise InvalidPayment("Say how you know the connector did not take the payment.")
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if attempt.status not in PaymentAttempt.UNRESOLVED:
            raise InvalidPayment(f"Attempt #{attempt.sequence} is {attempt.status}: it is already resolved.")
        journal(actor=actor, action="payment.attempt_resolved_declined", obj=attempt, payment=payment,
                before={"status": attempt.status}, after={"status": PaymentAttempt.Status.DECLINED}, reason=reason)
        payment_attempt_record(attempt_id=attempt_id, result=routing_data.ConnectorResult(
            Outcome.DECLINED, error_code="not_taken", message=f"Resolved by {actor.label}: {reason}"[:500],
        ))


def payment_attempt_interrupted_mark(*, attempt_id: UUID) -> bool:
    """The janitor's part for a task that died mid-call and was not redelivered (dead-lettered):
    a stale ``processing`` attempt becomes unknown. Returns whether it did."""
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if attempt.status != PaymentAttempt.Status.PROCESSING or attempt.updated_at > clock.now() - STALE_PROCESSING:
            return False
        _attempt_interrupted(payment, attempt)
        return True


def payment_redrive(*, payment_id: UUID) -> bool:
    """Send payments.process again for a payment left ``processing`` with no connector call in
    flight for STALE_PROCESSING: its message was dead-lettered (a task that crashed before or
    between attempts). Harmless if the message was only slow: processing is idempotent.
    Returns whether it did."""
    with transaction.atomic():
        payment = locks.payment_lock(payment_id)
        if payment.status != Payment.Status.PROCESSING or payment.updated_at > clock.now() - STALE_PROCESSING:
            return False
        if payment.attempts.filter(status__in=PaymentAttempt.IN_FLIGHT).exists():
            return False
        touch(payment)  # the next janitor round waits another STALE_PROCESSING
        journal(actor=SYSTEM, action="payment.redriven", obj=payment, payment=payment,
                after={"status": payment.status, "attempts": payment.attempts.count()})
        events_services.outbox_enqueue(task=PROCESS_TASK, kwargs={"payment_id": str(payment.pk)}, queue=QUEUE,
                                       priority=payment.priority)
        return True
