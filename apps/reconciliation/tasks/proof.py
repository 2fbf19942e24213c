"""The nightly proof of the books against the bank (from beat, after the ledger's and the audit
chain's own verification)."""

import logging

from celery import shared_task

from apps.reconciliation.services import proof as services

logger = logging.getLogger(__name__)


@shared_task(name="reconciliation.prove", soft_time_limit=1500, time_limit=1650)
def prove() -> list[str]:
    report = services.nightly_proof()
    if report.differing:
        logger.error("reconciliation: statements differ from the books", extra={"differing": report.differing})
    return report.lines()
