from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="payments: janitor",
        task="payments.janitor",
        queue="payments",
        priority=5,
        every_seconds=5,
        description="Asks connectors about unknown and pending attempts on a backoff schedule; re-drives pending "
        "captures, voids and refunds; flags attempts unresolved for 3 days for review.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_guards"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
