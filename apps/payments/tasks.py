from dataclasses import asdict
from typing import Any
from uuid import UUID

from celery import shared_task

from apps.payments import services


# On the payments queue (celery_app routes payments.*), at the priority its outbox message carries.
@shared_task(name="payments.process")
def process(*, payment_id: str) -> None:
    """Route the payment and call its connectors (idempotent: a payment already decided, or with
    a connector call in flight, is left alone; a call interrupted by a crash goes to the janitor)."""
    services.payment_process(payment_id=UUID(payment_id))


@shared_task(name="payments.payout_rail_send")
def payout_rail_send(*, payout_id: str) -> None:
    """Send a payout routed to an instant rail (idempotent: keyed by the payout; a payout already
    paid or failed is left alone; no definite answer goes to the janitor)."""
    services.payout_rail_send(payout_id=UUID(payout_id))


# Expires: a janitor round not started within its period is superseded by the next ones.
@shared_task(name="payments.janitor", soft_time_limit=50, time_limit=60, expires=30)
def janitor() -> dict[str, Any]:
    """Ask connectors about unknown outcomes; re-drive stuck payments and pending captures, voids
    and refunds."""
    return asdict(services.payments_janitor())
