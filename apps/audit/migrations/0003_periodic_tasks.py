from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="audit: seal new journal rows",
        task="audit.seal",
        queue="default",
        priority=8,
        every_seconds=10,
        description="Seals new audit events into the SHA-256 hash chain, in order.",
    ),
    dict(
        name="audit: verify the hash chain",
        task="audit.verify",
        queue="default",
        crontab={"minute": "30", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Nightly proof of the whole audit chain; a failure is logged and journaled.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
