from celery import shared_task

from apps.compliance import services


@shared_task(name="compliance.expire_approval_requests", soft_time_limit=50, time_limit=60)
def expire_approval_requests() -> int:
    """Mark the requests nobody approved in time expired (from beat, every few minutes)."""
    total = 0
    while expired := services.approval_requests_expire():
        total += expired
    return total
