from celery import shared_task

from apps.core import idempotency


@shared_task(name="core.idempotency_purge", soft_time_limit=300, time_limit=330)
def idempotency_purge() -> int:
    """Forget Idempotency-Keys past their retention (hourly, from beat)."""
    return idempotency.idempotency_purge_expired()
