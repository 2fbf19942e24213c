"""Everyone sees payout files and the bank's status reports; treasury operators import reports."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["settlement.view_payoutfile", "settlement.view_statusreport"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "settlement.import_statusreport"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("settlement", "0007_payout_files"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("settlement", GRANTS)]
