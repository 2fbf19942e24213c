from celery import shared_task

from apps.events import services


@shared_task(name="events.outbox_sweep", soft_time_limit=50, time_limit=60)
def outbox_sweep() -> int:
    """Publish outbox messages a crash left unpublished (every few seconds, from beat)."""
    return services.outbox_sweep()


@shared_task(name="events.dead_letters_collect", soft_time_limit=50, time_limit=60)
def dead_letters_collect() -> int:
    """Bring dead-lettered messages into the admin (every minute, from beat)."""
    return services.dead_letters_collect()


@shared_task(name="events.purge", soft_time_limit=600, time_limit=660)
def purge() -> dict[str, int]:
    """Forget old published outbox rows, inbox claims and webhook events (nightly, from beat)."""
    outbox, inbox = services.messaging_purge()
    return {"outbox": outbox, "inbox": inbox, "webhook_events": services.webhook_events_purge()}


@shared_task(name="webhooks.deliver", soft_time_limit=30, time_limit=40)
def webhook_deliver(*, delivery_id: str, attempt: int | None = None) -> str:
    """Make one attempt at a webhook delivery (published through the outbox)."""
    return services.webhook_deliveries.webhook_delivery_send(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="webhooks.deliver_due", soft_time_limit=50, time_limit=60)
def webhook_deliver_due() -> int:
    """Hand the webhook deliveries whose retry is due to workers (every 10 s, from beat)."""
    return services.webhook_deliveries.webhook_deliveries_dispatch_due()
