from celery import shared_task

from apps.compliance.cases import services


@shared_task(name="compliance.expire_holds", soft_time_limit=50, time_limit=60)
def expire_holds() -> int:
    """Decline the holds nobody reviewed within their rule's hours (from beat, every minute)."""
    total = 0
    while declined := services.holds_expire():
        total += declined
    return total
