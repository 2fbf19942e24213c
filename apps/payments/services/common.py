"""What every payments transition shares: the state machines' guard, the events and webhooks it
announces and its audit row."""

from typing import Any

from django.db.models import Model

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox import services as events_services
from apps.events.webhooks.services import deliveries as webhook_deliveries
from apps.payments import domain
from apps.payments.models import Capture, Payment, PaymentAttempt, Payout, Refund
from apps.payments.representations import payment_representation, refund_representation
from apps.routing import data as routing_data

PROCESS_TASK = "payments.process"
QUEUE = "payments"
SYSTEM = Actor.system("payments")
_MACHINES: dict[type[Model], str] = {Payment: "payment", PaymentAttempt: "attempt", Capture: "capture",
                                     Refund: "refund", Payout: "payout"}

def snapshot(payment: Payment) -> dict[str, Any]:
    """What the journal records of a payment before and after a transition."""
    return {
        "status": payment.status, "amount": payment.amount, "currency": payment.currency,
        "amount_authorized": payment.amount_authorized, "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded, "connector": payment.connector,
        "failure_code": payment.failure_code,
    }


def touch(instance: Model, *fields: str) -> None:
    """Save ``fields`` and the row's updated_at."""
    instance.updated_at = clock.now()
    instance.save(update_fields=[*fields, "updated_at"])


def announce(*, event_type: str, payment: Payment, refund: Refund | None = None) -> None:
    """Tell the merchant (a webhook event) and fincore's own subscribers (an outbox event), in
    the caller's transaction: ``data.object`` is the API representation; the outbox event's data
    also names the merchant (``data.merchant_id``). All its messages go in one outbox write."""
    obj = refund_representation(refund) if refund is not None else payment_representation(payment)
    data = {"object": obj}
    # Subscribers below payments (compliance's monitoring) cannot look the merchant up themselves.
    events = events_services.event_messages(event_type=f"payments.{event_type.replace('.', '_')}",
                                            data={**data, "merchant_id": str(payment.merchant_id)})
    webhook_deliveries.webhook_event_emit(merchant_id=payment.merchant_id, livemode=payment.livemode,
                                          event_type=event_type, data=data, also=events)


def journal(*, actor: Actor, action: str, obj: Model, payment: Payment, before: dict[str, Any] | None = None,
            after: dict[str, Any] | None = None, reason: str = "") -> None:
    audit_record(
        actor=actor, action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk), before=before,
        after=after, reason=reason, merchant_id=str(payment.merchant_id),
    )


def description(payment: Payment) -> routing_data.PaymentDescription:
    return routing_data.PaymentDescription(
        payment_id=payment.pk, merchant_id=payment.merchant_id, amount=payment.amount, currency=payment.currency,
        method=routing_data.Method(payment.method), country=payment.country, livemode=payment.livemode,
        metadata=dict(payment.metadata),
    )


def status_set(instance: Payment | PaymentAttempt | Capture | Refund | Payout, target: str) -> None:
    """Move ``instance`` to ``target`` as its state machine allows (domain.transition raises
    IllegalTransition otherwise); staying in the same status is no transition. The caller saves."""
    if instance.status != target:
        instance.status = domain.transition(_MACHINES[type(instance)], instance.status, target)
