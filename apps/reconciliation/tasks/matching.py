"""Matching's Celery entry points, on the reconciliation queue. Both are idempotent (a line is
matched once; a rerun matches only what is left) and acknowledged late, so a dead worker's
message runs again."""

from uuid import UUID

from celery import shared_task

from apps.core.actors import Actor
from apps.reconciliation.selectors.matching import nostros_to_match
from apps.reconciliation.services.breaks import breaks_sync
from apps.reconciliation.services.matching import matching_run
from apps.reconciliation.services.proof import statements_prove


def after_matching(*, nostro_code: str, actor: Actor) -> None:
    """What is left unmatched becomes a break (and a break matched since is resolved); then each of
    the nostro's statements not proven yet is proven against the books, which now hold the
    connector settlements matching posted."""
    breaks_sync(nostro_code=nostro_code)
    statements_prove(nostro_code=nostro_code, actor=actor)


# Under RabbitMQ's consumer timeout (30 minutes).
@shared_task(name="reconciliation.match_statement", soft_time_limit=1500, time_limit=1650, acks_late=True)
def match_statement(*, statement_id: str) -> dict[str, int]:
    """After a statement import (enqueued in its transaction): match its nostro's unmatched lines."""
    actor = Actor.system("reconciliation.match_statement")
    report = matching_run(statement_id=UUID(statement_id), actor=actor)
    for nostro_code in report.nostros:
        after_matching(nostro_code=nostro_code, actor=actor)
    return {"matches": report.matches, "lines": report.lines, "postings": report.postings}


@shared_task(name="reconciliation.match_all", soft_time_limit=1500, time_limit=1650, acks_late=True)
def match_all() -> dict[str, int]:
    """Nightly, from beat: every nostro with unmatched lines (expectations declared since the
    last import may now match), nostro by nostro."""
    actor = Actor.system("reconciliation.match_all")
    matches = lines = 0
    for nostro_code in nostros_to_match():
        report = matching_run(nostro_code=nostro_code, actor=actor)
        matches, lines = matches + report.matches, lines + report.lines
        after_matching(nostro_code=nostro_code, actor=actor)
    return {"matches": matches, "lines": lines}
