from celery import shared_task

from apps.events.outbox import services


@shared_task(name="events.outbox_sweep", soft_time_limit=50, time_limit=60)
def outbox_sweep() -> int:
    """Publish outbox messages a crash left unpublished (every few seconds, from beat)."""
    return services.outbox_sweep()


@shared_task(name="events.dead_letters_collect", soft_time_limit=50, time_limit=60)
def dead_letters_collect() -> int:
    """Bring dead-lettered messages into the admin (every minute, from beat)."""
    return services.dead_letters_collect()
