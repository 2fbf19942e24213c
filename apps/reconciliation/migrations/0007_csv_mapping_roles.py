"""Everyone on staff sees the CSV statement mappings; treasury operators keep them."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEW = ["reconciliation.view_csvstatementmapping"]
GRANTS = {
    "Compliance officer": VIEW,
    "Compliance supervisor": VIEW,
    "Treasury operator": [*VIEW, "reconciliation.add_csvstatementmapping", "reconciliation.change_csvstatementmapping"],
    "Support (read-only)": VIEW,
}


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0006_statement_drop_folder_task"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("reconciliation", GRANTS)]
