"""Row locks of the payments app, in one fixed order: the payment first, then its attempt,
capture or refund. Every writer that touches a payment's money takes the payment's lock, so
captures, cancels, refunds and connector results for one payment are applied one at a time.
Payouts (no payment of theirs) are locked by id, several in ascending id order."""

from collections.abc import Iterable
from uuid import UUID

from apps.payments.models import Capture, Payment, PaymentAttempt, Payout, Refund


def payment_lock(payment_id: UUID) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def attempt_lock(attempt_id: UUID, *, payment_id: UUID | None = None) -> tuple[Payment, PaymentAttempt]:
    """The payment, then its attempts (``payment.attempts.all()`` reads them without a query,
    as its representation does), locked; ``payment_id`` saves looking it up when the caller knows it."""
    if payment_id is None:
        payment_id = PaymentAttempt.objects.values_list("payment_id", flat=True).get(pk=attempt_id)
    payment = payment_lock(payment_id)
    attempts = list(PaymentAttempt.objects.select_for_update().filter(payment_id=payment_id).order_by("sequence"))
    payment.attempts_known(attempts)
    for attempt in attempts:
        if attempt.pk == attempt_id:
            return payment, attempt
    raise PaymentAttempt.DoesNotExist(f"attempt {attempt_id} of payment {payment_id}")


def capture_lock(capture_id: UUID) -> tuple[Payment, Capture]:
    payment_id = Capture.objects.values_list("payment_id", flat=True).get(pk=capture_id)
    payment = payment_lock(payment_id)
    return payment, Capture.objects.select_for_update().get(pk=capture_id)


def refund_lock(refund_id: UUID) -> tuple[Payment, Refund]:
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    payment = payment_lock(payment_id)
    return payment, Refund.objects.select_for_update().get(pk=refund_id)


def payouts_lock(payout_ids: Iterable[UUID]) -> list[Payout]:
    """The payouts, locked in ascending id order (so two writers never wait on each other in a circle)."""
    return list(Payout.objects.select_for_update().filter(pk__in=list(payout_ids)).order_by("pk"))
