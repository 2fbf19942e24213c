"""The app's Celery tasks, where Celery's autodiscovery looks for them: each half defines its own;
the nightly purge, which spans both, is here. Task names are what messages in flight and the
beat schedules refer to: they never change."""

from celery import shared_task

from apps.events.outbox import services as outbox_services
from apps.events.outbox.tasks import dead_letters_collect, outbox_sweep
from apps.events.webhooks.services import deliveries
from apps.events.webhooks.tasks import webhook_deliver, webhook_deliver_due

__all__ = ["dead_letters_collect", "outbox_sweep", "purge", "webhook_deliver", "webhook_deliver_due"]


@shared_task(name="events.purge", soft_time_limit=600, time_limit=660)
def purge() -> dict[str, int]:
    """Forget old published outbox rows, inbox claims and webhook events (nightly, from beat)."""
    outbox, inbox = outbox_services.messaging_purge()
    return {"outbox": outbox, "inbox": inbox, "webhook_events": deliveries.webhook_events_purge()}
