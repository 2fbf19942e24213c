"""Everyone on staff sees imported bank statements; treasury operators import them."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["reconciliation.view_bankstatement", "reconciliation.view_bankstatementline"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "reconciliation.import_bankstatement"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0002_statements_append_only"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("reconciliation", GRANTS)]
