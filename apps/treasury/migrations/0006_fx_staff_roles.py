"""Everyone on staff sees FX rates, quotes and conversions; treasury operators import rates."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["treasury.view_fxrate", "treasury.view_fxquote", "treasury.view_fxconversion"]
GRANTS = {"Compliance officer": VIEWS, "Compliance supervisor": VIEWS,
          "Treasury operator": [*VIEWS, "treasury.import_fxrate"], "Support (read-only)": VIEWS}


class Migration(migrations.Migration):
    dependencies = [("treasury", "0005_fx"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("treasury", GRANTS)]
