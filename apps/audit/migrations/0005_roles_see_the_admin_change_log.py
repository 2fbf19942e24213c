"""The roles that saw django-auditlog's entries see them in the Audit section (a proxy model has
permissions of its own)."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

GRANTS = {
    "Compliance officer": ["audit.view_adminchange"],
    "Compliance supervisor": ["audit.view_adminchange"],
    "Support (read-only)": ["audit.view_adminchange"],
}


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_journal_and_admin_change_log"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("audit", GRANTS)]
