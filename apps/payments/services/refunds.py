"""Refunds: several, partial, up to what was captured; ``pending -> succeeded | failed``.

    refund_create          under the payment's lock: the bound (captured - reserved, also a CHECK),
                           the Refund row, ledger holds reserving the money (merchant pending
                           first, then available), audit, refund.pending
    refund_execute         the connector call, with the refund's idempotency key
    refund_result_record   succeeded: the holds posted (and a wallet paid back); failed: the holds
                           voided and the reservation released; no answer: called again later
"""

from uuid import UUID

from django.db import transaction

from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.idempotency import IdempotencyKeyReused
from apps.payments import connectors, domain, locks, postings
from apps.payments.exceptions import PaymentNotRefundable, RefundExceedsCaptured
from apps.payments.models import Payment, PaymentAttempt, Refund
from apps.payments.services.common import SYSTEM, announce, journal, status_set, touch
from apps.routing import data as routing_data

Verdict = domain.Verdict
FIRST_RETRY_AFTER = domain.INQUIRY_SCHEDULE[2]


def refund_create(*, payment_id: UUID, actor: Actor, amount: int | None = None, reason: str = "",
                  idempotency_key: str = "") -> Refund:
    """Reserve a refund of ``amount`` (default: all that is left) of a succeeded payment.

    With ``idempotency_key`` (the request's Idempotency-Key) there is one refund per key,
    merchant and mode (a unique constraint): a retry of a request that committed returns the
    first refund and reserves nothing more.

    Raises PaymentNotRefundable, RefundExceedsCaptured, InsufficientBalance, IdempotencyKeyReused."""
    with transaction.atomic():
        payment = locks.payment_lock(payment_id)
        if idempotency_key and (existing := _refund_of_key(payment, idempotency_key, amount, reason)):
            return existing
        if payment.status != Payment.Status.SUCCEEDED:
            raise PaymentNotRefundable(f"The payment is {payment.status}.")
        left = payment.amount_captured - payment.amount_refund_reserved
        if amount is None:
            amount = left
        if amount <= 0 or amount > left:
            raise RefundExceedsCaptured(
                f"{left} of the {payment.amount_captured} captured is left to refund.", amount_refundable=left
            )
        now = clock.now()
        refund = Refund(
            payment=payment, merchant_id=payment.merchant_id, livemode=payment.livemode, amount=amount,
            currency=payment.currency, reason=reason, connector=payment.connector,
            request_idempotency_key=idempotency_key, next_attempt_at=now + FIRST_RETRY_AFTER,
            created_by=actor.label, created_at=now, updated_at=now,
        )
        refund.idempotency_key = ids.encode("re", refund.pk)
        holds = postings.refund_holds(payment, refund)
        refund.pending_hold_id, refund.available_hold_id = holds.pending_hold_id, holds.available_hold_id
        refund.save(force_insert=True)
        payment.amount_refund_reserved += amount
        touch(payment, "amount_refund_reserved")
        journal(actor=actor, action="refund.created", obj=refund, payment=payment,
                after={"amount": amount, "currency": refund.currency, "payment": ids.encode("pay", payment.pk),
                       "reason": reason})
        announce(event_type="refund.pending", payment=payment, refund=refund)
    return refund


def _refund_of_key(payment: Payment, idempotency_key: str, amount: int | None, reason: str) -> Refund | None:
    """The refund made with this key, if any; raises IdempotencyKeyReused when it was asked for
    with other details. Under the payment's lock: a retry for the same payment waits for the first."""
    refund = Refund.objects.filter(merchant_id=payment.merchant_id, livemode=payment.livemode,
                                   request_idempotency_key=idempotency_key).first()
    if refund is not None and (refund.payment_id != payment.pk or amount not in (None, refund.amount)
                               or reason != refund.reason):
        raise IdempotencyKeyReused(
            f"This Idempotency-Key made refund {ids.encode('re', refund.pk)} with other details; use a new key."
        )
    return refund


def refund_execute(*, refund_id: UUID) -> Refund:
    """Call the connector for a pending refund and record its answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    authorization = refund.payment.attempts.get(status__in=PaymentAttempt.APPROVED)
    result = connectors.call(connector=refund.connector, operation=routing_data.Operation.REFUND,
                             idempotency_key=refund.idempotency_key, reference=authorization.connector_reference,
                             amount=refund.amount, currency=refund.currency)
    return refund_result_record(refund_id=refund_id, result=result)


def refund_result_record(*, refund_id: UUID, result: routing_data.ConnectorResult) -> Refund:
    """Apply the connector's answer to a pending refund, in one transaction."""
    with transaction.atomic():
        payment, refund = locks.refund_lock(refund_id)
        if refund.status != Refund.Status.PENDING:
            return refund
        now = clock.now()
        refund.attempts += 1
        verdict = domain.answer_verdict("refund", result.outcome, calls=refund.attempts)
        if verdict == Verdict.CALL_AGAIN:
            refund.failure_code = result.error_code[:64]
            refund.failure_message = result.message[:500]
            refund.next_attempt_at = now + domain.next_inquiry_delay(refund.attempts - 1)
            touch(refund, "attempts", "failure_code", "failure_message", "next_attempt_at")
            return refund
        if verdict == Verdict.DONE:
            postings.refund_holds_post(payment, refund)
            status_set(refund, Refund.Status.SUCCEEDED)
            refund.connector_reference = result.reference[:255]
            refund.failure_code = refund.failure_message = ""
            payment.amount_refunded += refund.amount
            touch(payment, "amount_refunded")
        else:
            postings.refund_holds_void(payment, refund)
            status_set(refund, Refund.Status.FAILED)
            refund.failure_code = (result.error_code or result.outcome)[:64]
            refund.failure_message = result.message[:500]
            payment.amount_refund_reserved -= refund.amount
            touch(payment, "amount_refund_reserved")
        refund.next_attempt_at = None
        refund.resolved_at = now
        touch(refund, "status", "attempts", "connector_reference", "failure_code", "failure_message",
              "next_attempt_at", "resolved_at")
        journal(actor=SYSTEM, action=f"refund.{refund.status}", obj=refund, payment=payment,
                before={"status": Refund.Status.PENDING},
                after={"status": refund.status, "failure_code": refund.failure_code})
        announce(event_type=f"refund.{refund.status}", payment=payment, refund=refund)
    return refund


def payment_refund(*, payment_id: UUID, actor: Actor, amount: int | None = None, reason: str = "",
                   idempotency_key: str = "") -> Refund:
    """Refund a payment: reserve the money, then ask the connector at once (a refund it does not
    answer stays pending, for the janitor; a retried request asks again with the same key)."""
    refund = refund_create(payment_id=payment_id, actor=actor, amount=amount, reason=reason,
                           idempotency_key=idempotency_key)
    return refund_execute(refund_id=refund.pk)
