"""Matching's Celery entry points, on the reconciliation queue. Both are idempotent (a line is
matched once; a rerun matches only what is left) and acknowledged late, so a dead worker's
message runs again."""

from uuid import UUID

from celery import shared_task

from apps.core.actors import Actor
from apps.reconciliation.selectors.matching import nostros_to_match
from apps.reconciliation.services.matching import matching_run


def after_matching(*, nostro_code: str) -> None:
    """What follows matching for a nostro (breaks, the balance proof): chained here by the lead."""


# Under RabbitMQ's consumer timeout (30 minutes).
@shared_task(name="reconciliation.match_statement", soft_time_limit=1500, time_limit=1650, acks_late=True)
def match_statement(*, statement_id: str) -> dict[str, int]:
    """After a statement import (enqueued in its transaction): match its nostro's unmatched lines."""
    report = matching_run(statement_id=UUID(statement_id), actor=Actor.system("reconciliation.match_statement"))
    for nostro_code in report.nostros:
        after_matching(nostro_code=nostro_code)
    return {"matches": report.matches, "lines": report.lines, "postings": report.postings}


@shared_task(name="reconciliation.match_all", soft_time_limit=1500, time_limit=1650, acks_late=True)
def match_all() -> dict[str, int]:
    """Nightly, from beat: every nostro with unmatched lines (expectations declared since the
    last import may now match), nostro by nostro."""
    matches = lines = 0
    for nostro_code in nostros_to_match():
        report = matching_run(nostro_code=nostro_code, actor=Actor.system("reconciliation.match_all"))
        matches, lines = matches + report.matches, lines + report.lines
        after_matching(nostro_code=nostro_code)
    return {"matches": matches, "lines": lines}
