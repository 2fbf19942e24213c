"""Compliance's holds on payments and payouts, as the payments app carries them out. Compliance
sits below payments: it decides (an officer, or its SLA sweep) and calls what payments registered
for each held object (``hold_handlers_register`` in apps.payments.apps), in the officer's
transaction.

    payment_review_release    a payment held in ``requires_review`` goes on to ``processing``: its
                              payments.process message is sent through the outbox
    payment_review_decline    it fails ``declined`` with a neutral message: nothing was taken, and
                              the merchant is never told compliance's reason (the journal keeps it)
    payout_review_release     a payout held for review (a sanctions hit on its beneficiary) may leave
    payout_review_decline     it fails ``compliance_declined``: its hold is voided, the money back
                              on the merchant's available balance
    merchant_payouts_hold     (maker-checker ``payments.merchant_payouts_hold``) the merchant's
                              payouts stay pending: those pending now and those made meanwhile
    merchant_payouts_unhold   (``payments.merchant_payouts_unhold``) they may leave again

A held payout is never sent (the CHECK ``payout_held_never_sent``): the payout file's selection and
the instant rail skip it, and payouts_send refuses it.
"""

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.events.outbox import services as events_services
from apps.payments import locks
from apps.payments.exceptions import (
    InvalidPayout,
    MerchantPayoutsHoldConflict,
    NotHeldForReview,
    PaymentNotFound,
    PayoutNotFound,
)
from apps.payments.models import MerchantPayoutHold, Payment, Payout
from apps.payments.services.common import PROCESS_TASK, QUEUE, journal, snapshot, status_set, touch
from apps.payments.services.payments import _payment_fail
from apps.payments.services.payouts import _journal as payout_journal
from apps.payments.services.payouts import failure_reason, payout_failed_apply

MERCHANT_PAYOUTS_HOLD = "payments.merchant_payouts_hold"
MERCHANT_PAYOUTS_UNHOLD = "payments.merchant_payouts_unhold"
# What a declined payment and payout say: never compliance's reason.
PAYMENT_DECLINED = ("declined", "The payment was declined.")
PAYOUT_DECLINED = ("compliance_declined", "The payout was declined.")


def _uuid(value: Any, not_found: type[Exception]) -> UUID:
    try:
        return UUID(str(value))
    except (ValueError, TypeError, ValidationError) as malformed:
        raise not_found(f"No such object {value!r}.") from malformed


def _payment_held(object_id: Any) -> Payment:
    payment_id = _uuid(object_id, PaymentNotFound)
    if not Payment.objects.filter(pk=payment_id).exists():
        raise PaymentNotFound(f"No payment {object_id!r}.")
    payment = locks.payment_lock(payment_id)
    if payment.status != Payment.Status.REQUIRES_REVIEW:
        raise NotHeldForReview(f"{ids.encode('pay', payment.pk)} is {payment.status}: it is not held for review.")
    return payment


def payment_review_release(*, object_id: Any, actor: Actor, reason: str) -> Payment:
    """Release a payment held for review: ``processing``, and its processing queued through the
    outbox (sent once this commits). Raises PaymentNotFound, NotHeldForReview."""
    with transaction.atomic():
        payment = _payment_held(object_id)
        before = snapshot(payment)
        status_set(payment, Payment.Status.PROCESSING)
        touch(payment, "status")
        journal(actor=actor, action="payment.review_released", obj=payment, payment=payment, before=before,
                after=snapshot(payment), reason=reason)
        events_services.outbox_enqueue(task=PROCESS_TASK, kwargs={"payment_id": str(payment.pk)}, queue=QUEUE,
                                       priority=payment.priority)
    return payment


def payment_review_decline(*, object_id: Any, actor: Actor, reason: str) -> Payment:
    """Decline a payment held for review: ``failed`` with ``declined`` and a neutral message (nothing
    was taken: it was never routed), ``payment.failed``. The officer's reason is journaled, never
    shown to the merchant. Raises PaymentNotFound, NotHeldForReview."""
    with transaction.atomic():
        payment = _payment_held(object_id)
        journal(actor=actor, action="payment.review_declined", obj=payment, payment=payment,
                before={"status": payment.status}, after={"status": Payment.Status.FAILED}, reason=reason)
        code, message = PAYMENT_DECLINED
        _payment_fail(payment, code=code, message=message)
    return payment


def _payout_held(object_id: Any) -> Payout:
    payout_id = _uuid(object_id, PayoutNotFound)
    [payout] = locks.payouts_lock([payout_id]) or [None]
    if payout is None:
        raise PayoutNotFound(f"No payout {object_id!r}.")
    if not payout.held_for_review:
        raise NotHeldForReview(f"{ids.encode('po', payout.pk)} is not held for review.")
    return payout


def payout_review_release(*, object_id: Any, actor: Actor, reason: str) -> Payout:
    """Release a payout held for review: it leaves with the next payout file or the instant rail
    (unless its merchant's payouts are held, or its own hold or approval is still to come).
    Raises PayoutNotFound, NotHeldForReview."""
    with transaction.atomic():
        payout = _payout_held(object_id)
        payout.held_for_review = False
        touch(payout, "held_for_review")
        payout_journal(payout, "payout.review_released", actor=actor, before={"held_for_review": True},
                       after={"held_for_review": False}, reason=reason)
    return payout


def payout_review_decline(*, object_id: Any, actor: Actor, reason: str) -> Payout:
    """Decline a payout held for review: ``failed`` with ``compliance_declined`` and a neutral
    message, its hold voided (the money is back on the merchant's available balance),
    ``payout.failed``. The officer's reason is journaled only. Raises PayoutNotFound, NotHeldForReview."""
    with transaction.atomic():
        payout = _payout_held(object_id)
        payout_journal(payout, "payout.review_declined", actor=actor, before={"held_for_review": True},
                       after={"held_for_review": False, "status": Payout.Status.FAILED}, reason=reason)
        payout.held_for_review = False
        code, message = failure_reason(*PAYOUT_DECLINED)
        payout_failed_apply(payout, code=code, message=message, actor=actor, fields=("held_for_review",))
    return payout


# --- a merchant's payouts held --------------------------------------------------------------


def _pending_payouts(merchant_id: UUID, *, held: bool) -> list[Payout]:
    payout_ids = Payout.objects.filter(merchant_id=merchant_id, status=Payout.Status.PENDING,
                                       merchant_payouts_held=held).values_list("pk", flat=True)
    return [payout for payout in locks.payouts_lock(payout_ids)
            if payout.status == Payout.Status.PENDING and payout.merchant_payouts_held == held]


def _payouts_flag(payouts: list[Payout], *, held: bool, actor: Actor, reason: str) -> None:
    now = clock.now()
    for payout in payouts:
        payout.merchant_payouts_held, payout.updated_at = held, now
    Payout.objects.bulk_update(payouts, ["merchant_payouts_held", "updated_at"])
    for payout in payouts:
        payout_journal(payout, "payout.merchant_held" if held else "payout.merchant_unheld", actor=actor,
                       before={"merchant_payouts_held": not held}, after={"merchant_payouts_held": held},
                       reason=reason)


def merchant_payouts_hold(*, merchant_id: Any, actor: Actor, reason: str) -> MerchantPayoutHold:
    """Hold a merchant's payouts (the maker-checker action ``payments.merchant_payouts_hold``,
    requested from a case): its pending payouts and those made while the hold lasts stay pending.
    Raises MerchantPayoutsHoldConflict (held already)."""
    merchant_id = _uuid(merchant_id, InvalidPayout)
    if not reason.strip():
        raise InvalidPayout("Say why the merchant's payouts are held.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                hold = MerchantPayoutHold.objects.create(merchant_id=merchant_id, reason=reason, placed_by=actor.label,
                                                         placed_at=clock.now())
        except IntegrityError as held:
            raise MerchantPayoutsHoldConflict(f"The payouts of merchant {ids.encode('mer', merchant_id)} are "
                                              "already held.") from held
        payouts = _pending_payouts(merchant_id, held=False)
        _payouts_flag(payouts, held=True, actor=actor, reason=reason)
        audit_record(actor=actor, action="merchant.payouts_held", object_type="merchants.merchant",
                     object_id=str(merchant_id), after={"hold": str(hold.pk), "pending_payouts_held": len(payouts)},
                     reason=reason, merchant_id=str(merchant_id))
    return hold


def merchant_payouts_unhold(*, merchant_id: Any, actor: Actor, reason: str) -> MerchantPayoutHold:
    """Lift the hold on a merchant's payouts (``payments.merchant_payouts_unhold``): its pending
    payouts may leave again (unless a compliance alert holds one). Raises MerchantPayoutsHoldConflict
    (not held)."""
    merchant_id = _uuid(merchant_id, InvalidPayout)
    if not reason.strip():
        raise InvalidPayout("Say why the merchant's payouts may leave again.")
    with transaction.atomic():
        hold = MerchantPayoutHold.objects.select_for_update().filter(merchant_id=merchant_id,
                                                                     lifted_at__isnull=True).first()
        if hold is None:
            raise MerchantPayoutsHoldConflict(f"The payouts of merchant {ids.encode('mer', merchant_id)} are not "
                                              "held.")
        hold.lifted_at, hold.lifted_by, hold.lift_reason = clock.now(), actor.label, reason
        hold.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        payouts = _pending_payouts(merchant_id, held=True)
        _payouts_flag(payouts, held=False, actor=actor, reason=reason)
        audit_record(actor=actor, action="merchant.payouts_unheld", object_type="merchants.merchant",
                     object_id=str(merchant_id), before={"hold": str(hold.pk)},
                     after={"pending_payouts_released": len(payouts)}, reason=reason, merchant_id=str(merchant_id))
    return hold
