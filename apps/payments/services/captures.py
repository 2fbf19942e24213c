"""Capturing or canceling an authorized payment (manual capture).

Each is three steps, so that no transaction is open while the connector is called:

    capture_request          the intent: a Capture row (pending), under the payment's lock
    capture_execute          the connector call, with the row's idempotency key
    capture_result_record    the answer: state + ledger + events + audit, in one transaction

An answer the connector did not give (an error or a timeout) leaves the row pending; the
janitor calls again with the same key (so the connector acts once) until it answers. At most
one capture or void per payment is pending or succeeded (a unique index), and the ledger's
capture transfer has a client id derived from the payment: a payment is never captured twice.
"""

from uuid import UUID

from django.db import transaction

from apps.core import clock, ids
from apps.core.actors import Actor
from apps.ledger.services import TransferRefused
from apps.payments import connectors, domain, locks, postings
from apps.payments.exceptions import (
    CancelDeclined,
    CaptureAlreadyRequested,
    CaptureDeclined,
    CaptureExceedsAuthorized,
    PaymentNotCancelable,
    PaymentNotCapturable,
)
from apps.payments.models import Capture, Payment, PaymentAttempt
from apps.payments.services.common import SYSTEM, announce, journal, snapshot, status_set, touch
from apps.payments.services.payments import ledger_refused
from apps.routing import data as routing_data

Operation = routing_data.Operation
Verdict = domain.Verdict
# Until the first answer, the janitor leaves a just-requested capture to its requester.
FIRST_RETRY_AFTER = domain.INQUIRY_SCHEDULE[2]


def capture_request(*, payment_id: UUID, kind: str, actor: Actor, amount: int | None = None) -> Capture:
    """Record the intent to capture (``amount`` or all that was authorized) or void a payment
    awaiting capture. The same request again returns the first one. Raises
    PaymentNotCapturable / PaymentNotCancelable, CaptureExceedsAuthorized, CaptureAlreadyRequested."""
    with transaction.atomic():
        payment = locks.payment_lock(payment_id)
        existing = payment.captures.filter(status__in=[Capture.Status.PENDING, Capture.Status.SUCCEEDED]).first()
        if existing is not None and existing.kind == kind and amount in (None, existing.amount):
            return existing
        if payment.status != Payment.Status.REQUIRES_CAPTURE:
            refusal = PaymentNotCapturable if kind == Capture.Kind.CAPTURE else PaymentNotCancelable
            raise refusal(f"The payment is {payment.status}.")
        if existing is not None:
            raise CaptureAlreadyRequested(f"A {existing.kind} of {existing.amount} is {existing.status}.")
        if amount is None:
            amount = payment.amount_authorized
        if kind == Capture.Kind.CAPTURE and amount > payment.amount_authorized:
            raise CaptureExceedsAuthorized(f"At most {payment.amount_authorized} was authorized.")
        now = clock.now()
        sequence = payment.captures.count() + 1
        capture = Capture.objects.create(
            payment=payment, kind=kind, amount=amount if kind == Capture.Kind.CAPTURE else payment.amount_authorized,
            connector=payment.connector, idempotency_key=f"{ids.encode('pay', payment.pk)}:{kind}:{sequence}",
            next_attempt_at=now + FIRST_RETRY_AFTER, created_by=actor.label, created_at=now, updated_at=now,
        )
        journal(actor=actor, action=f"payment.{kind}_requested", obj=capture, payment=payment,
                after={"kind": kind, "amount": capture.amount})
    return capture


def capture_execute(*, capture_id: UUID) -> Capture:
    """Call the connector for a pending capture or void and record its answer."""
    capture = Capture.objects.select_related("payment").get(pk=capture_id)
    if capture.status != Capture.Status.PENDING:
        return capture
    payment = capture.payment
    authorization = payment.attempts.get(status__in=PaymentAttempt.APPROVED)
    if capture.kind == Capture.Kind.CAPTURE:
        result = connectors.call(connector=capture.connector, operation=Operation.CAPTURE,
                                 idempotency_key=capture.idempotency_key, reference=authorization.connector_reference,
                                 amount=capture.amount, currency=payment.currency)
    else:
        result = connectors.call(connector=capture.connector, operation=Operation.VOID,
                                 idempotency_key=capture.idempotency_key, reference=authorization.connector_reference)
    return capture_result_record(capture_id=capture_id, result=result)


def _refused_if_declined(capture: Capture, refusal: type[CaptureDeclined | CancelDeclined]) -> Capture:
    """The capture (succeeded, or pending for the janitor), unless the connector declined it:
    then ``refusal``, carrying its code (the failed capture is recorded; the payment still
    awaits capture)."""
    if capture.status == Capture.Status.FAILED:
        raise refusal(capture.message or capture.error_code or None, connector_code=capture.error_code)
    return capture


def payment_capture(*, payment_id: UUID, actor: Actor, amount: int | None = None) -> Capture:
    """Capture a payment awaiting capture, all or ``amount`` of it (the rest is released).
    Raises CaptureDeclined when the connector refuses."""
    capture = capture_request(payment_id=payment_id, kind=Capture.Kind.CAPTURE, amount=amount, actor=actor)
    return _refused_if_declined(capture_execute(capture_id=capture.pk), CaptureDeclined)


def payment_cancel(*, payment_id: UUID, actor: Actor) -> Capture:
    """Cancel a payment awaiting capture: the connector voids the authorization. Raises
    CancelDeclined when the connector refuses."""
    capture = capture_request(payment_id=payment_id, kind=Capture.Kind.VOID, actor=actor)
    return _refused_if_declined(capture_execute(capture_id=capture.pk), CancelDeclined)


def capture_result_record(*, capture_id: UUID, result: routing_data.ConnectorResult) -> Capture:
    """Apply the connector's answer to a capture or void, in one transaction.

    Approved: a capture posts clearing -> merchant pending (and takes a wallet's hold) and the
    payment succeeds; a void releases a wallet's hold and the payment is canceled. Declined:
    the request failed and the payment still awaits capture. No answer: called again later, up
    to domain.MAX_OPERATION_ERRORS calls. A capture the connector made and the ledger refused
    fails the payment for review (see payments.ledger_refused).
    """
    with transaction.atomic():
        payment, capture = locks.capture_lock(capture_id)
        if capture.status != Capture.Status.PENDING:
            return capture
        now = clock.now()
        capture.attempts += 1
        capture.error_code = result.error_code[:64]
        capture.message = result.message[:500]
        verdict = domain.answer_verdict("capture", result.outcome, calls=capture.attempts)
        if verdict == Verdict.CALL_AGAIN:
            capture.next_attempt_at = now + domain.next_inquiry_delay(capture.attempts - 1)
            touch(capture, "attempts", "error_code", "message", "next_attempt_at")
            return capture
        capture.connector_reference = result.reference[:255]
        capture.next_attempt_at = None
        capture.resolved_at = now
        settled = verdict == Verdict.DONE and _settled(payment, capture)
        status_set(capture, Capture.Status.SUCCEEDED if settled else Capture.Status.FAILED)
        touch(capture, "status", "attempts", "error_code", "message", "connector_reference", "next_attempt_at",
              "resolved_at")
        if not settled:
            journal(actor=SYSTEM, action=f"payment.{capture.kind}_failed", obj=capture, payment=payment,
                    after={"error_code": capture.error_code, "attempts": capture.attempts})
    return capture


def _settled(payment: Payment, capture: Capture) -> bool:
    """The connector made the capture or void: the payment succeeds or is canceled. Returns
    False when the ledger refused a wallet's capture (the wallet is the ledger: nothing was
    taken; the payment still awaits capture). A card capture the ledger refused fails the
    payment for review."""
    before = snapshot(payment)
    authorization = payment.attempts.select_for_update().get(status__in=PaymentAttempt.APPROVED)
    if capture.kind == Capture.Kind.CAPTURE:
        try:
            with transaction.atomic():
                if payment.wallet_hold_id:
                    postings.wallet_hold_post(payment, amount=capture.amount)
                postings.capture_post(payment, amount=capture.amount)
        except TransferRefused as refused:
            if payment.wallet_hold_id:
                capture.error_code, capture.message = refused.code, refused.detail[:500]
                return False
            status_set(authorization, PaymentAttempt.Status.CAPTURED)
            ledger_refused(payment, authorization, refused)
            return True
        payment.amount_captured = capture.amount
        payment.captured_at = clock.now()
        status_set(payment, Payment.Status.SUCCEEDED)
        status_set(authorization, PaymentAttempt.Status.CAPTURED)
        events = ("payment.captured", "payment.succeeded")
    else:
        if payment.wallet_hold_id:
            postings.wallet_hold_void(payment)
        status_set(payment, Payment.Status.CANCELED)
        status_set(authorization, PaymentAttempt.Status.CANCELED)
        events = ("payment.canceled",)
    touch(authorization, "status")
    touch(payment, "status", "amount_captured", "captured_at")
    journal(actor=SYSTEM, action=f"payment.{payment.status}", obj=payment, payment=payment, before=before,
            after=snapshot(payment))
    for event_type in events:
        announce(event_type=event_type, payment=payment)
    return True
