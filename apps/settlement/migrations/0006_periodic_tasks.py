from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="settlement: settle each currency's last closed business date",
        task="settlement.runs_due",
        queue="settlement",
        crontab={"minute": "*/5", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Starts a currency's settlement run within five minutes of its cut-off (or early closure) on "
                    "a business date, and resumes a run a dead worker left running. A failed run waits for a "
                    "person: resume it from the admin.",
    ),
    dict(
        name="settlement: send releasable payouts in a pain.001 per currency",
        task="settlement.payout_files",
        queue="settlement",
        crontab={"minute": "*/10", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Writes one pain.001 per currency with a payout nostro, from the payouts whose 24 h bank "
                    "account hold has passed and that are approved where they need it, and sends them.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("settlement", "0005_default_fee_plan"), ("core", "0002_periodic_tasks")]

    operations = [install_periodic_tasks(TASKS)]
