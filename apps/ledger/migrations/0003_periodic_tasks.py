from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="ledger: expire pending transfers",
        task="ledger.expire_pending",
        queue="ledger",
        priority=8,
        every_seconds=10,
        description="Releases the holds of pending transfers whose timeout has passed.",
    ),
    dict(
        name="ledger: verify the invariants",
        task="ledger.verify",
        queue="default",
        crontab={"minute": "0", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Nightly proof that each currency balances and every balance equals its entries.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_invariants"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
