"""Everyone on staff sees expectations; treasury operators declare them. And the beat tasks that
expect sent payouts and connector settlements and mark overdue expectations missing."""

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.roles import role_permissions_grant

VIEWS = ["reconciliation.view_expectation"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "reconciliation.declare_expectation"],
    "Support (read-only)": VIEWS,
}

TASKS = [
    dict(
        name="reconciliation: expect sent payouts",
        task="reconciliation.expect_sent_payouts",
        queue="reconciliation",
        every_seconds=300,
        description="Payouts sent in a payment file in the last three days that have no expectation yet "
                    "(the outbox event makes them at once; this catches any it missed).",
    ),
    dict(
        name="reconciliation: expect connector settlements",
        task="reconciliation.expect_connector_settlements",
        queue="reconciliation",
        crontab={"minute": "20", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Each connector's net captures less refunds of the last closed business dates, expected on "
                    "the next business date into the currency's payout nostro.",
    ),
    dict(
        name="reconciliation: mark missing expectations",
        task="reconciliation.expectations_mark_missing",
        queue="reconciliation",
        crontab={"minute": "5", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Unreconciled or partially reconciled expectations past their SLA become missing.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0007_csv_mapping_roles"),
        ("ops", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [role_permissions_grant("reconciliation", GRANTS), install_periodic_tasks(TASKS)]
