from django.db import migrations

from apps.core.beat import install_periodic_task, remove_periodic_task

NAME = "core: forget expired idempotency keys"


def install(apps, schema_editor):
    install_periodic_task(
        apps,
        name=NAME,
        task="core.idempotency_purge",
        queue="default",
        crontab={"minute": "5", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Deletes Idempotency-Key records older than FINCORE_IDEMPOTENCY_TTL_HOURS.",
    )


def remove(apps, schema_editor):
    remove_periodic_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(install, remove)]
