import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from apps.audit import services
from apps.core.actors import Actor

logger = logging.getLogger(__name__)


@shared_task(name="audit.seal", soft_time_limit=50, time_limit=60)
def seal() -> int:
    """Seal new journal rows into the hash chain (every few seconds, from beat).

    Seals batch after batch until none is left or its time is up; each batch commits on its
    own, so the next run simply goes on."""
    total = 0
    try:
        while sealed := services.audit_seal_pending():
            total += sealed
    except SoftTimeLimitExceeded:
        logger.warning("audit sealing stopped at its time limit; the next run goes on", extra={"sealed": total})
    return total


# Under RabbitMQ's consumer timeout (30 minutes by default).
@shared_task(name="audit.verify", soft_time_limit=1500, time_limit=1650)
def verify() -> bool:
    """Nightly proof of the whole chain; a failure is logged as an error and journaled."""
    report = services.audit_chain_check(actor=Actor.system("audit.verify"))
    if report.problem is not None:
        logger.error("audit chain verification failed", extra={"problem": report.problem.message})
    return report.ok
