"""What every payments transition shares: the events and webhooks it announces, its audit row,
and the connector calls made outside any transaction."""

import logging
from typing import Any

from django.db.models import Model

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox import services as events_services
from apps.events.webhooks.services import deliveries as webhook_deliveries
from apps.payments import connectors
from apps.payments.models import Payment, Refund
from apps.payments.representations import payment_representation, refund_representation
from apps.routing import data as routing_data

logger = logging.getLogger(__name__)

PROCESS_TASK = "payments.process"
QUEUE = "payments"
SYSTEM = Actor.system("payments")

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
    the caller's transaction: ``data.object`` is the API representation."""
    obj = refund_representation(refund) if refund is not None else payment_representation(payment)
    data = {"object": obj}
    webhook_deliveries.webhook_event_emit(merchant_id=payment.merchant_id, livemode=payment.livemode,
                                          event_type=event_type, data=data)
    events_services.event_publish(event_type=f"payments.{event_type.replace('.', '_')}", data=data)


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


def unknown(message: str, code: str = "no_answer") -> routing_data.ConnectorResult:
    return routing_data.ConnectorResult(outcome=routing_data.Outcome.UNKNOWN, error_code=code, message=message[:500])


def call_connector(connector: str, operation: str, **arguments: Any) -> routing_data.ConnectorResult:
    """``adapter.<operation>(**arguments)``, never inside a transaction.

    A connector that is not configured is a technical error (nothing was sent). Anything the
    call itself raises may have happened after the request left: the outcome is unknown, to be
    asked for, never assumed.
    """
    try:
        adapter = connectors.adapter(connector)
    except Exception as error:  # an unknown or broken connector configuration
        logger.exception("connector adapter unavailable", extra={"connector": connector})
        return routing_data.ConnectorResult(
            outcome=routing_data.Outcome.ERROR, error_code="connector_not_configured", message=repr(error)[:500],
            retryable=True,
        )
    try:
        return getattr(adapter, operation)(**arguments)
    except Exception as error:  # the call may have reached the connector
        logger.exception("connector call raised", extra={"connector": connector, "operation": operation})
        return unknown(f"the {operation} call raised {error!r}", code="call_raised")
