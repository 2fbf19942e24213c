import logging

from celery import shared_task

from apps.core.actors import Actor
from apps.ledger import services

logger = logging.getLogger(__name__)


@shared_task(name="ledger.expire_pending", soft_time_limit=50, time_limit=60)
def expire_pending() -> int:
    """Release the holds of pending transfers past their timeout (every few seconds, from beat)."""
    expired = total = services.pending_transfers_expire()
    while expired:
        expired = services.pending_transfers_expire()
        total += expired
    return total


@shared_task(name="ledger.verify", soft_time_limit=3000, time_limit=3300)
def verify() -> bool:
    """Nightly proof of the ledger's invariants; a failure is logged, journaled and exported."""
    verification = services.ledger_check(actor=Actor.system("ledger.verify"))
    if not verification.ok:
        logger.error("ledger verification failed", extra={"problem": verification.problem})
    return verification.ok
