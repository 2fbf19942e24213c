"""Everyone on staff sees fincore's bank accounts; only a superuser adds or changes one for now."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["treasury.view_nostroaccount"]
GRANTS = {"Compliance officer": VIEWS, "Compliance supervisor": VIEWS, "Treasury operator": VIEWS,
          "Support (read-only)": VIEWS}


class Migration(migrations.Migration):
    dependencies = [("treasury", "0001_nostro_accounts"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("treasury", GRANTS)]
