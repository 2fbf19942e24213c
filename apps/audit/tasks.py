import logging

from celery import shared_task

from apps.audit import services
from apps.core.actors import Actor

logger = logging.getLogger(__name__)


@shared_task(name="audit.seal", soft_time_limit=50, time_limit=60)
def seal() -> int:
    """Seal new journal rows into the hash chain (every few seconds, from beat)."""
    sealed = total = services.audit_seal_pending()
    while sealed:
        sealed = services.audit_seal_pending()
        total += sealed
    return total


@shared_task(name="audit.verify", soft_time_limit=1800, time_limit=1900)
def verify() -> bool:
    """Nightly proof of the whole chain; a failure is logged as an error and journaled."""
    report = services.audit_chain_check(actor=Actor.system("audit.verify"))
    if report.problem is not None:
        logger.error("audit chain verification failed", extra={"problem": report.problem.message})
    return report.ok
