"""Staff roles and routing: treasury operators run the connectors and rules; compliance and
support see them (read-only). The roles themselves are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["routing.view_connector", "routing.view_routingrule", "routing.view_sandboxoperation"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "routing.change_connector", "routing.add_routingrule", "routing.change_routingrule"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_sandbox_connectors"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("routing", GRANTS)]
