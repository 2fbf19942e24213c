"""Staff roles see the ledger (read-only for everyone: nothing in it is edited by hand)."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

LEDGER_VIEWS = ["ledger.view_account", "ledger.view_transfer", "ledger.view_entry", "ledger.view_verification"]
GRANTS = {
    "Compliance officer": LEDGER_VIEWS,
    "Compliance supervisor": LEDGER_VIEWS,
    "Treasury operator": LEDGER_VIEWS,
    "Support (read-only)": LEDGER_VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_staff_roles"), ("ledger", "0001_initial")]

    operations = [role_permissions_grant("ledger", GRANTS)]
