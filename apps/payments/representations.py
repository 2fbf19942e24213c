"""How payments, refunds and payouts look to merchants, in API responses and in webhook events alike: the
``data.object`` of an event is exactly what ``GET`` returns. Plain functions of the models, so
the services that announce events never import the API layer; the OpenAPI schema of these
shapes is declared in apps.payments.api.serializers (and a test holds the two together)."""

from typing import Any

from apps.core import clock, ids
from apps.payments.models import Payment, PaymentAttempt, Payout, Refund


def _failure(code: str, message: str) -> dict[str, str] | None:
    return {"code": code, "message": message} if code else None


def routing_representation(routing: dict[str, Any]) -> dict[str, Any]:
    """A stored routing decision; scores as decimal strings ("0.8333"), as every fraction in the
    API: JSON numbers are read as floats."""
    return {
        "strategy": routing.get("strategy", ""),
        "rule": routing.get("rule", ""),
        "reason": routing.get("reason", ""),
        "candidates": routing.get("candidates", []),
        "scores": {name: f"{score:.4f}" for name, score in routing.get("scores", {}).items()},
        "excluded": routing.get("excluded", {}),
        "explored": routing.get("explored", False),
    }


def attempt_representation(attempt: PaymentAttempt) -> dict[str, Any]:
    return {
        "id": ids.encode("att", attempt.pk),
        "sequence": attempt.sequence,
        "connector": attempt.connector,
        "status": attempt.status,
        "error_code": attempt.error_code,
        "message": attempt.message,
        "retryable": attempt.retryable,
        "routing": routing_representation(attempt.routing or {}),
        "created": clock.isoformat(attempt.created_at),
    }


def payment_representation(payment: Payment) -> dict[str, Any]:
    capturable = payment.amount_authorized - payment.amount_captured
    return {
        "id": ids.encode("pay", payment.pk),
        "object": "payment",
        "livemode": payment.livemode,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "country": payment.country,
        "method": payment.method,
        "payment_method": payment.payment_method,
        "capture_method": payment.capture_method,
        "amount_authorized": payment.amount_authorized,
        "amount_capturable": capturable if payment.status == Payment.Status.REQUIRES_CAPTURE else 0,
        "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded,
        "amount_refundable": payment.amount_captured - payment.amount_refund_reserved,
        "connector": payment.connector,
        "reference": payment.reference,
        "metadata": payment.metadata,
        "failure": _failure(payment.failure_code, payment.failure_message),
        "attempts": [attempt_representation(attempt)
                     for attempt in sorted(payment.attempts.all(), key=lambda attempt: attempt.sequence)],
        "captured": clock.isoformat(payment.captured_at),
        "created": clock.isoformat(payment.created_at),
        "updated": clock.isoformat(payment.updated_at),
    }


def refund_representation(refund: Refund) -> dict[str, Any]:
    return {
        "id": ids.encode("re", refund.pk),
        "object": "refund",
        "livemode": refund.livemode,
        "payment": ids.encode("pay", refund.payment_id),
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "failure": _failure(refund.failure_code, refund.failure_message),
        "created": clock.isoformat(refund.created_at),
        "updated": clock.isoformat(refund.updated_at),
    }


def payout_representation(payout: Payout) -> dict[str, Any]:
    """A payout as its merchant sees it: never the full IBAN, its last four characters."""
    return {
        "id": ids.encode("po", payout.pk),
        "object": "payout",
        "livemode": payout.livemode,
        "status": payout.status,
        "amount": payout.amount,
        "currency": payout.currency,
        "bank_account": {"last4": payout.iban[-4:], "bic": payout.bic, "beneficiary_name": payout.beneficiary_name},
        "settlement": payout.settlement_reference,
        "end_to_end_id": payout.end_to_end_id,
        "held_until": clock.isoformat(payout.hold_until),
        "sent": clock.isoformat(payout.in_transit_at),
        "arrival": clock.isoformat(payout.paid_at),
        "failure": _failure(payout.failure_code, payout.failure_message),
        "created": clock.isoformat(payout.created_at),
        "updated": clock.isoformat(payout.updated_at),
    }
