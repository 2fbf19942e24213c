"""Monitoring's tasks: payments' outbox events as they arrive, and the ledger's wallet transfers from beat."""

from typing import Any

from celery import shared_task

from apps.compliance.monitoring import services


@shared_task(name="compliance.monitor_event", acks_late=True)
def monitor_event(*, event: dict[str, Any]) -> int:
    """One of payments' outbox events: record the movement and evaluate the rules watching it
    (idempotent: a redelivery records and raises nothing twice). Returns the alerts raised."""
    return len(services.event_monitor(event=event))


@shared_task(name="compliance.monitor_wallet_transfers", soft_time_limit=50, time_limit=60, expires=55,
             acks_late=True)
def monitor_wallet_transfers() -> int:
    """From beat, every minute: evaluate the merchants' wallet transfers committed since the last run."""
    return services.wallet_transfers_monitor()
