"""Screening's tasks, on the compliance queue: a merchant at onboarding or on a change of name, and
the chunked re-screen of every merchant after a list import (each chunk schedules the next)."""

from uuid import UUID

from celery import shared_task

from apps.compliance.sanctions import screening


@shared_task(name="compliance.sanctions_merchant_screen", queue="compliance", acks_late=True,
             soft_time_limit=60, time_limit=90)
def sanctions_merchant_screen(*, merchant_id: str) -> int:
    """Screen one merchant against every list's current version; returns how many hits."""
    return len(screening.merchant_screen(merchant_id=UUID(merchant_id)))


@shared_task(name=screening.RESCREEN_TASK, queue="compliance", acks_late=True, soft_time_limit=240, time_limit=300)
def sanctions_rescreen(*, rescreen_id: str) -> int:
    """Screen the next chunk of merchants against an imported version; returns how many are done."""
    return screening.rescreen_chunk(rescreen_id=UUID(rescreen_id)).screened
