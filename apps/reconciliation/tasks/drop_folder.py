"""The drop folder's Celery entry point: it calls one service."""

from pathlib import Path

from celery import shared_task
from django.conf import settings

from apps.core.actors import Actor
from apps.reconciliation.services import drop_folder


@shared_task(name="reconciliation.statement_drop_folder_scan", queue="reconciliation", soft_time_limit=540,
             time_limit=600, acks_late=True)
def statement_drop_folder_scan() -> list[str]:
    """Every minute, from beat: import the settled files of FINCORE_STATEMENT_DROP_DIR (off when
    empty). Idempotent: a file imported and not yet moved is filed as imported on the next run."""
    root = settings.FINCORE_STATEMENT_DROP_DIR
    if not root:
        return []
    outcomes = drop_folder.statement_drop_folder_scan(root=Path(root),
                                                      actor=Actor.system("reconciliation.statement_drop_folder_scan"))
    return [f"{outcome.file}: {outcome.outcome}" for outcome in outcomes]
