"""Everyone on staff reads positions and low-liquidity alerts; treasury operators acknowledge alerts
and set a nostro's low-liquidity threshold (the only field of a nostro they change). The check runs
every 15 minutes."""

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.roles import role_permissions_grant

VIEWS = ["treasury.view_position", "treasury.view_liquidityalert"]
GRANTS = {"Compliance officer": VIEWS, "Compliance supervisor": VIEWS, "Support (read-only)": VIEWS,
          "Treasury operator": [*VIEWS, "treasury.change_liquidityalert", "treasury.change_nostroaccount"]}
TASKS = [
    dict(
        name="treasury: low-liquidity check",
        task="treasury.positions_check",
        queue="default",
        every_seconds=15 * 60,
        description="Forecasts every nostro 7 business days ahead; raises or clears its low-liquidity alert.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("treasury", "0007_positions_and_liquidity_alerts"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [role_permissions_grant("treasury", GRANTS), install_periodic_tasks(TASKS)]
