import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from apps.core.actors import Actor
from apps.ledger import services

logger = logging.getLogger(__name__)


@shared_task(name="ledger.expire_pending", soft_time_limit=50, time_limit=60)
def expire_pending() -> int:
    """Release the holds of pending transfers past their timeout (every few seconds, from beat).

    Works in batches until none is left or its time is up; what is left, the next run takes
    (each batch commits on its own, so stopping between two loses nothing)."""
    total = 0
    try:
        while expired := services.pending_transfers_expire():
            total += expired
    except SoftTimeLimitExceeded:
        logger.warning("hold expiry stopped at its time limit; the next run goes on", extra={"expired": total})
    return total


# Under RabbitMQ's consumer timeout (30 minutes by default), past which the broker would take
# the message back from the worker mid-run.
@shared_task(name="ledger.verify", soft_time_limit=1500, time_limit=1650)
def verify() -> bool:
    """Nightly proof of the ledger's invariants; a failure is logged, journaled and exported."""
    verification = services.ledger_check(actor=Actor.system("ledger.verify"))
    if not verification.ok:
        logger.error("ledger verification failed", extra={"problem": verification.problem})
    return verification.ok
