from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="core: forget expired idempotency keys",
        task="core.idempotency_purge",
        queue="default",
        crontab={"minute": "5", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Deletes Idempotency-Key records older than FINCORE_IDEMPOTENCY_TTL_HOURS.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
