from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="webhooks: send deliveries that are due",
        task="webhooks.deliver_due",
        queue="webhooks",
        priority=9,
        every_seconds=10,
        description="Hands webhook deliveries whose retry is due (or whose message was lost) to the webhook workers.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("events", "0003_webhooks"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
