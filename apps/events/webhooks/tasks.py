from celery import shared_task

from apps.events.webhooks.services import deliveries


@shared_task(name="webhooks.deliver", soft_time_limit=30, time_limit=40)
def webhook_deliver(*, delivery_id: str, attempt: int | None = None) -> str:
    """Make one attempt at a webhook delivery (published through the outbox)."""
    return deliveries.webhook_delivery_send(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="webhooks.deliver_due", soft_time_limit=50, time_limit=60)
def webhook_deliver_due() -> int:
    """Hand the webhook deliveries whose retry is due to workers (every 10 s, from beat)."""
    return deliveries.webhook_deliveries_dispatch_due()
