"""A payment from its creation to its first final outcome: processing (or requires_review, held
by compliance until an officer releases it), then requires_capture, succeeded or failed.

    payment_create           one transaction: the payment, compliance's hold check, its audit row, the
                             payments.process message (or, held, payment.requires_review)
    payment_process          (the task) route outside any lock, record an attempt, call the connector
                             outside any transaction with the attempt's idempotency key, record the
                             answer; a retryable failure moves on to the next candidate
    payment_attempt_record   one connector answer applied, in one transaction
    payment_attempt_inquire  the janitor's question about an unknown or pending attempt, and what
                             its answer means (domain.inquiry_verdict)

An attempt found still ``processing`` by a redelivered task is never called again blindly: its
worker may have died after the connector acted. It becomes ``unknown`` and the janitor asks the
connector what happened; a connector that never received the request is sent it again where it
deduplicates by our key, or else, once it has said so for long enough, the attempt fails as
``not_received`` and the payment moves on.
"""

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.compliance.monitoring.observations import payment_observation
from apps.compliance.monitoring.services import payment_hold_check
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.idempotency import IdempotencyKeyReused
from apps.events.outbox import services as events_services
from apps.ledger import selectors as ledger_selectors
from apps.ledger.services import TransferRefused
from apps.payments import connectors, domain, locks, postings
from apps.payments.exceptions import CardNumberRefused, InvalidPayment, NoConnectorAvailable, WalletNotFound
from apps.payments.models import Payment, PaymentAttempt
from apps.payments.representations import payment_representation
from apps.payments.services.common import (
    PROCESS_TASK,
    QUEUE,
    SYSTEM,
    announce,
    description,
    journal,
    snapshot,
    status_set,
    touch,
)
from apps.routing import data as routing_data

logger = logging.getLogger(__name__)

Outcome = routing_data.Outcome
Operation = routing_data.Operation
Verdict = domain.Verdict
# However many connectors are eligible, a payment is tried at this many at most.
MAX_ATTEMPTS = 5
# A task still calling the connector after this long is dead (the task's hard time limit is
# 90 s): the janitor turns its attempt unknown and asks the connector.
STALE_PROCESSING = timedelta(minutes=3)
NO_ROUTE = "no_route"
NOT_RECEIVED = "not_received"
# What the payment says when the ledger refused to record what its connector did.
LEDGER_REFUSED = "ledger_refused"


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
    idempotency_key: str = "",
    actor: Actor,
) -> Payment:
    """Accept a payment (``processing``) and queue its processing on the payments queue at its
    method's priority, in one transaction.

    In that transaction compliance's monitoring sees it first (``payment_hold_check``): a rule set
    to hold it keeps it in ``requires_review``, announced as ``payment.requires_review`` and not
    processed, until an officer releases it (then processed) or declines it (failed ``declined``);
    the merchant is never told why.

    With ``idempotency_key`` (the request's Idempotency-Key) there is one payment per key,
    merchant and mode, kept by a unique constraint: a retry of a request that committed, even
    one whose answer was lost in a crash, returns the first payment and creates nothing.

    Raises CardNumberRefused (a card number anywhere in it), InvalidPayment, WalletNotFound,
    NoConnectorAvailable (no connector of the payment's mode takes it), IdempotencyKeyReused (the
    key's payment was asked for with other details)."""
    metadata = dict(metadata or {})
    request = {"amount": amount, "currency": currency, "country": country, "payment_method": payment_method,
               "capture_method": capture_method, "reference": reference, "metadata": metadata}
    try:
        method = _validated_method(merchant_id=merchant_id, livemode=livemode, currency=currency,
                                   payment_method=payment_method, capture_method=capture_method,
                                   metadata=metadata, reference=reference)
        now = clock.now()
        payment = Payment(
            merchant_id=merchant_id, livemode=livemode, amount=amount, currency=currency, country=country,
            method=method, payment_method=payment_method, capture_method=capture_method, reference=reference,
            metadata=metadata, priority=settings.FINCORE_PAYMENT_PRIORITIES[method],
            request_idempotency_key=idempotency_key, created_at=now, updated_at=now,
        )
        route = connectors.preview(description=description(payment))
        if not route.candidates:
            raise NoConnectorAvailable(route.reason)
    except (CardNumberRefused, InvalidPayment, WalletNotFound, NoConnectorAvailable):
        # A retry of a request that committed gets its payment, whatever would refuse it now.
        if idempotency_key and (existing := _payment_of_key(merchant_id, livemode, idempotency_key, request)):
            return existing
        raise
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
            payment.attempts_known([])
            held = payment_hold_check(
                observation=payment_observation(obj=payment_representation(payment), merchant_id=merchant_id),
                hold_object_id=str(payment.pk),
            )
            if held is not None:
                status_set(payment, Payment.Status.REQUIRES_REVIEW)
                touch(payment, "status")
            journal(actor=actor, action="payment.created", obj=payment, payment=payment, after=snapshot(payment))
            if held is not None:
                announce(event_type="payment.requires_review", payment=payment)
            else:
                events_services.outbox_enqueue(
                    task=PROCESS_TASK, kwargs={"payment_id": str(payment.pk)}, queue=QUEUE, priority=payment.priority
                )
    except IntegrityError:
        # The same key's first request committed (before, or meanwhile): the unique key refused this one.
        if idempotency_key and (existing := _payment_of_key(merchant_id, livemode, idempotency_key, request)):
            return existing
        raise
    return payment


def _validated_method(*, merchant_id: UUID, livemode: bool, currency: str, payment_method: dict[str, Any],
                      capture_method: str, metadata: dict[str, Any], reference: str) -> str:
    """The payment method's type, once the request is one fincore takes."""
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
    return method


def _payment_of_key(merchant_id: UUID, livemode: bool, idempotency_key: str,
                    request: dict[str, Any]) -> Payment | None:
    """The payment made with this key, if any; raises IdempotencyKeyReused when it was asked for
    with other details (a key is never reused, however long ago its first request was)."""
    payment = Payment.objects.filter(merchant_id=merchant_id, livemode=livemode,
                                     request_idempotency_key=idempotency_key).first()
    if payment is not None and any(getattr(payment, field) != value for field, value in request.items()):
        raise IdempotencyKeyReused(
            f"This Idempotency-Key made payment {ids.encode('pay', payment.pk)} with other details; use a new key."
        )
    return payment


# --- processing ----------------------------------------------------------------------------


def payment_process(*, payment_id: UUID) -> None:
    """Try the payment at its connectors until one gives a final answer, or the outcome is left
    to the janitor (unknown or pending). Idempotent: a payment no longer processing, or with
    an attempt in flight, is left alone."""
    while True:
        attempt = _attempt_next(payment_id)
        if attempt is None:
            return
        payment = attempt.payment
        result = connectors.call(
            connector=attempt.connector, operation=Operation.AUTHORIZE, description=description(payment),
            **_authorization(payment, attempt),
        )
        if not payment_attempt_record(attempt_id=attempt.pk, payment_id=payment_id, result=result,
                                      continue_here=True):
            return


def _authorization(payment: Payment, attempt: PaymentAttempt) -> dict[str, Any]:
    """The arguments of an attempt's authorize call: the same every time it is sent."""
    return {
        "idempotency_key": attempt.idempotency_key, "payment_id": payment.pk, "amount": payment.amount,
        "currency": payment.currency, "payment_method": payment.payment_method,
        "capture": payment.capture_method == Payment.CaptureMethod.AUTOMATIC,
    }


def _attempt_next(payment_id: UUID) -> PaymentAttempt | None:
    """The next attempt, routed and committed (under the payment's lock, in one transaction)
    before its connector is called; None when there is nothing to do now.

    Routing reads rules and health (a Redis round trip) and may take a half-open breaker's probe;
    it runs under the lock, which only serialises this payment's own writers (a capture, a cancel,
    the janitor) for that millisecond, and so saves reading the payment and its attempts twice.
    A probe taken for an attempt that is then not made lapses on its own."""
    with transaction.atomic():
        payment = locks.payment_lock(payment_id)
        if payment.status != Payment.Status.PROCESSING:
            return None
        attempts = list(payment.attempts.order_by("sequence"))
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
    status_set(attempt, PaymentAttempt.Status.UNKNOWN)
    attempt.error_code = "interrupted"
    attempt.message = "The connector call was interrupted before its answer was recorded."
    attempt.next_inquiry_at = now
    touch(attempt, "status", "error_code", "message", "next_inquiry_at")
    journal(actor=SYSTEM, action="payment.attempt_interrupted", obj=attempt, payment=payment,
            after={"status": attempt.status, "connector": attempt.connector})


def _payment_fail(payment: Payment, *, code: str, message: str) -> None:
    before = snapshot(payment)
    status_set(payment, Payment.Status.FAILED)
    payment.failure_code = code[:64]
    payment.failure_message = message[:500]
    touch(payment, "status", "failure_code", "failure_message", "connector", "amount_authorized", "amount_captured",
          "captured_at", "wallet_hold_id")
    journal(actor=SYSTEM, action="payment.failed", obj=payment, payment=payment, before=before,
            after=snapshot(payment))
    announce(event_type="payment.failed", payment=payment)


def _approved_status(payment: Payment) -> str:
    return (PaymentAttempt.Status.CAPTURED if payment.capture_method == Payment.CaptureMethod.AUTOMATIC
            else PaymentAttempt.Status.AUTHORIZED)


def _payment_unapproved(payment: Payment) -> None:
    """Forget, on the row, an approval the ledger did not record (the caller saves)."""
    payment.connector = ""
    payment.amount_authorized = payment.amount_captured = 0
    payment.captured_at = None
    payment.wallet_hold_id = None


def ledger_refused(payment: Payment, attempt: PaymentAttempt, refusal: TransferRefused) -> None:
    """The connector took the money but the ledger refused to record it (a frozen or closed
    account, a balance past the ledger's limit): nothing moved in the ledger. The payment fails
    with ``ledger_refused`` and its attempt, recording what the connector did, goes to the review
    queue: a person returns the money at the connector. Never retried: the refusal would repeat.
    Runs in the caller's transaction, under the payment's lock."""
    logger.error("ledger refused what the connector did", extra={"attempt_id": str(attempt.pk),
                                                                 "code": refusal.code})
    if attempt.status in PaymentAttempt.IN_FLIGHT:
        status_set(attempt, _approved_status(payment))
    attempt.needs_review = True
    attempt.error_code = f"ledger_{refusal.code}"[:64]
    attempt.message = f"The connector took the payment; the ledger refused it: {refusal.detail}"[:500]
    touch(attempt, "status", "connector_reference", "resolved_at", "next_inquiry_at", "needs_review", "error_code",
          "message")
    journal(actor=SYSTEM, action="payment.ledger_refused", obj=attempt, payment=payment, reason=refusal.detail,
            after={"status": attempt.status, "connector": attempt.connector, "refusal": refusal.code,
                   "reference": attempt.connector_reference})
    _payment_unapproved(payment)
    _payment_fail(payment, code=LEDGER_REFUSED,
                  message="The payment could not be recorded and is being returned to the customer.")


def _payment_approved(payment: Payment, attempt: PaymentAttempt, result: routing_data.ConnectorResult) -> None:
    """The connector authorized (and, with automatic capture, captured) the payment."""
    automatic = payment.capture_method == Payment.CaptureMethod.AUTOMATIC
    before = snapshot(payment)
    attempt.connector_reference = result.reference[:255]
    attempt.resolved_at = clock.now()
    payment.connector = attempt.connector
    payment.amount_authorized = payment.amount
    if automatic:
        payment.amount_captured = payment.amount
        payment.captured_at = attempt.resolved_at
    try:
        payment.wallet_hold_id = postings.approval_post(payment, automatic=automatic)
    except TransferRefused as refused:
        if payment.method != Payment.Method.WALLET:
            ledger_refused(payment, attempt, refused)
            return
        # The wallet is the ledger: what it refuses was never taken, as if declined.
        status_set(attempt, PaymentAttempt.Status.DECLINED)
        attempt.error_code = refused.code
        attempt.message = refused.detail[:500]
        touch(attempt, "status", "error_code", "message", "connector_reference", "resolved_at", "next_inquiry_at",
              "needs_review")
        _payment_unapproved(payment)
        _payment_fail(payment, code=refused.code, message=refused.detail)
        return
    status_set(attempt, _approved_status(payment))
    touch(attempt, "status", "connector_reference", "resolved_at", "next_inquiry_at", "error_code", "message",
          "needs_review")
    status_set(payment, Payment.Status.SUCCEEDED if automatic else Payment.Status.REQUIRES_CAPTURE)
    touch(payment, "status", "connector", "amount_authorized", "amount_captured", "captured_at", "wallet_hold_id")
    journal(actor=SYSTEM, action=f"payment.{payment.status}", obj=payment, payment=payment, before=before,
            after=snapshot(payment))
    announce(event_type=f"payment.{payment.status}", payment=payment)


def payment_attempt_record(*, attempt_id: UUID, result: routing_data.ConnectorResult,
                           continue_here: bool = False, payment_id: UUID | None = None) -> bool:
    """Apply a connector's answer to an attempt (and its payment), in one transaction.

    Approved: succeeded (captured, posted to the ledger) or requires_capture — or failed
    ``ledger_refused`` with the attempt in review, when the ledger refuses the posting. Declined
    or error: failed, unless retryable, when the next candidate is tried — by the caller when
    ``continue_here`` (returns True), else by a payments.process message sent in this
    transaction. Unknown or pending: the janitor asks later. An attempt already resolved is left
    alone (a replay). Returns whether the caller should try the next candidate now. ``payment_id``,
    when the caller knows it, saves looking it up.
    """
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id, payment_id=payment_id)
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
        verdict = domain.answer_verdict("attempt", result.outcome)
        attempt.error_code = result.error_code[:64]
        attempt.message = result.message[:500]
        attempt.next_inquiry_at = None
        if verdict == Verdict.ASK_LATER:
            status_set(attempt, PaymentAttempt.Status.PENDING if result.outcome == Outcome.PENDING
                       else PaymentAttempt.Status.UNKNOWN)
            attempt.connector_reference = result.reference[:255] or attempt.connector_reference
            attempt.next_inquiry_at = now + domain.next_inquiry_delay(attempt.inquiries)
            touch(attempt, "status", "error_code", "message", "connector_reference", "next_inquiry_at")
            journal(actor=SYSTEM, action=f"payment.attempt_{attempt.status}", obj=attempt, payment=payment,
                    after={"status": attempt.status, "connector": attempt.connector, "error_code": attempt.error_code})
            return False
        # A final answer ends any review; except the ones below, which start one.
        attempt.needs_review = False
        if payment.status != Payment.Status.PROCESSING:
            # Resolved by a person meanwhile: keep the connector's word on the attempt, and if it
            # took the money after all, a person must give it back (flagged for review).
            status_set(attempt, _answered_status(verdict, result, payment))
            attempt.needs_review = verdict == Verdict.DONE
            attempt.resolved_at = now
            touch(attempt, "status", "error_code", "message", "next_inquiry_at", "needs_review", "resolved_at")
            return False
        if verdict == Verdict.DONE:
            _payment_approved(payment, attempt, result)
            return False
        # Declined, or a technical error: nothing was taken.
        status_set(attempt, _answered_status(verdict, result, payment))
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


def _answered_status(verdict: Verdict, result: routing_data.ConnectorResult, payment: Payment) -> str:
    """A final answer as an attempt's status."""
    if verdict == Verdict.DONE:
        return _approved_status(payment)
    if result.outcome == Outcome.DECLINED:
        return PaymentAttempt.Status.DECLINED
    return PaymentAttempt.Status.FAILED


# --- the janitor's questions ----------------------------------------------------------------


def payment_attempt_inquire(*, attempt_id: UUID) -> None:
    """Ask the connector about an unknown or pending attempt now, and act on the answer
    (domain.inquiry_verdict): record a final outcome; send the authorization again, with the same
    key, to a rail that never received it and deduplicates; fail the attempt as not received
    when a rail that cannot be sent it again has said so for long enough; else ask again later."""
    attempt = PaymentAttempt.objects.select_related("payment").get(pk=attempt_id)
    if attempt.status not in PaymentAttempt.UNRESOLVED:
        return
    result = connectors.call(connector=attempt.connector, operation=Operation.INQUIRE,
                             idempotency_key=attempt.idempotency_key)
    verdict = domain.inquiry_verdict(result, domain.InquiryState(
        not_received_answers=attempt.not_received_answers, age=clock.now() - attempt.created_at,
    ))
    if verdict == domain.InquiryVerdict.RESEND:
        payment = attempt.payment
        result = connectors.call(connector=attempt.connector, operation=Operation.AUTHORIZE,
                                 description=description(payment), **_authorization(payment, attempt))
        if domain.answer_verdict("attempt", result.outcome) != Verdict.ASK_LATER:
            payment_attempt_record(attempt_id=attempt_id, result=result)
            return
    elif verdict == domain.InquiryVerdict.RECORD:
        payment_attempt_record(attempt_id=attempt_id, result=result)
        return
    elif verdict == domain.InquiryVerdict.NOT_RECEIVED:
        journal_result = routing_data.ConnectorResult(
            Outcome.ERROR, error_code=NOT_RECEIVED, retryable=True,
            message=f"The connector never received the request ({attempt.not_received_answers + 1} answers since "
                    f"{attempt.created_at:%Y-%m-%d %H:%M:%S} UTC): nothing was taken.",
        )
        payment_attempt_record(attempt_id=attempt_id, result=journal_result)
        return
    _inquiry_unanswered(attempt_id=attempt_id, not_received=result.not_received)


def _inquiry_unanswered(*, attempt_id: UUID, not_received: bool) -> None:
    """An inquiry that told nothing final: ask again later, on the backoff schedule; past
    REVIEW_AFTER the attempt is flagged for a person."""
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if attempt.status not in PaymentAttempt.UNRESOLVED:
            return
        now = clock.now()
        attempt.inquiries += 1
        attempt.not_received_answers += int(not_received)
        attempt.next_inquiry_at = now + domain.next_inquiry_delay(attempt.inquiries)
        fields = ["inquiries", "not_received_answers", "next_inquiry_at"]
        if not attempt.needs_review and now - attempt.created_at >= domain.REVIEW_AFTER:
            attempt.needs_review = True
            fields.append("needs_review")
            journal(actor=SYSTEM, action="payment.attempt_needs_review", obj=attempt, payment=payment,
                    after={"status": attempt.status, "inquiries": attempt.inquiries})
        touch(attempt, *fields)


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


def payment_attempt_review_close(*, attempt_id: UUID, actor: Actor, reason: str) -> None:
    """A person closes an attempt's review once its money is back with the customer (a refund or
    void made at the connector, after the ledger refused it or after the attempt had been closed
    as not taken). Journaled with the person and reason. Raises InvalidPayment for an attempt not
    in review, one whose outcome is still unknown (ask or close it as not taken instead), or
    without a reason."""
    if not reason.strip():
        raise InvalidPayment("Say how the money went back to the customer.")
    with transaction.atomic():
        payment, attempt = locks.attempt_lock(attempt_id)
        if not attempt.needs_review:
            raise InvalidPayment(f"Attempt #{attempt.sequence} is not in review.")
        if attempt.status in PaymentAttempt.UNRESOLVED:
            raise InvalidPayment(f"Attempt #{attempt.sequence} is {attempt.status}: find out its outcome first.")
        attempt.needs_review = False
        touch(attempt, "needs_review")
        journal(actor=actor, action="payment.attempt_review_closed", obj=attempt, payment=payment,
                before={"needs_review": True}, after={"needs_review": False, "status": attempt.status},
                reason=reason)


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
