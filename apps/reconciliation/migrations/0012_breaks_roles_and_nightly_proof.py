"""Everyone on staff sees the exception queue and the balance proofs; treasury operators work
breaks (and request adjustments). The nightly proof runs after the ledger's (02:00) and the audit
chain's (02:30) verification."""

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.roles import role_permissions_grant

VIEWS = ["reconciliation.view_break", "reconciliation.view_breakcomment", "reconciliation.view_balanceproof"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "reconciliation.work_break"],
    "Support (read-only)": VIEWS,
}
TASKS = [
    dict(
        name="reconciliation: prove the books against the bank",
        task="reconciliation.prove",
        queue="reconciliation",
        crontab={"minute": "0", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Opens and resolves breaks, proves each new end-of-day statement's closing balance against "
                    "the nostro's ledger balance, and journals each nostro's last agreed balance.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0011_balance_proofs"), ("ops", "0001_staff_roles"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [role_permissions_grant("reconciliation", GRANTS), install_periodic_tasks(TASKS)]
