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
def purge() -> tuple[int, int]:
    """Forget old published outbox rows and inbox claims (nightly, from beat)."""
    return services.messaging_purge()
