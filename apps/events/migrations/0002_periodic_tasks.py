from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="events: publish what the outbox still holds",
        task="events.outbox_sweep",
        queue="default",
        priority=9,
        every_seconds=10,
        description="Publishes outbox messages a crash left behind after their transaction committed.",
    ),
    dict(
        name="events: collect dead letters",
        task="events.dead_letters_collect",
        queue="default",
        priority=8,
        every_seconds=60,
        description="Moves dead-lettered messages from RabbitMQ into the admin for inspection and replay.",
    ),
    dict(
        name="events: purge old outbox and inbox rows",
        task="events.purge",
        queue="default",
        crontab={"minute": "15", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Forgets published outbox rows after 7 days and consumer claims after 30.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
