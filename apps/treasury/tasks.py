"""Treasury's jobs: the low-liquidity check (beat, every 15 minutes) and the announcement of its
alerts (the outbox's subscriber of ``treasury.low_liquidity``)."""

import logging
from typing import Any

from celery import shared_task

from apps.treasury.services import positions as positions_services

logger = logging.getLogger(__name__)


@shared_task(name="treasury.positions_check", queue="default", acks_late=True, soft_time_limit=120, time_limit=150)
def positions_check() -> dict[str, list[str]]:
    """Raise and clear low-liquidity alerts from the forecast (idempotent: safe to retry)."""
    outcome = positions_services.positions_check()
    return {"raised": outcome.raised, "cleared": outcome.cleared}


@shared_task(name="treasury.low_liquidity_announce", queue="default", acks_late=True)
def low_liquidity_announce(*, event: dict[str, Any]) -> None:
    """Put a low-liquidity alert (or its clearing) in the operations log, where paging picks it up."""
    data = event["data"]
    logger.warning("%s: nostro %s (%s) forecast %s on %s against a threshold of %s", event["type"], data["nostro"],
                   data["currency"], data["forecast_balance"], data["forecast_date"], data["threshold"],
                   extra={"event_id": event["id"], "alert_id": data["alert_id"]})
