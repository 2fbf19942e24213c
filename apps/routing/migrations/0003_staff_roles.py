"""Staff roles and routing: treasury operators run the connectors and rules; compliance and
support see them (read-only). The roles themselves are made in ops 0001."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWS = ["routing.view_connector", "routing.view_routingrule", "routing.view_sandboxoperation"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "routing.change_connector", "routing.add_routingrule", "routing.change_routingrule"],
    "Support (read-only)": VIEWS,
}


def _permissions(apps, dotted_names):
    Permission = apps.get_model("auth", "Permission")
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant(apps, schema_editor):
    routing = apps.get_app_config("routing")
    routing.models_module = True
    create_permissions(routing, apps=apps, verbosity=0)
    routing.models_module = None
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.add(*_permissions(apps, permissions))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.remove(*_permissions(apps, permissions))


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_sandbox_connectors"), ("ops", "0001_staff_roles")]

    operations = [migrations.RunPython(grant, revoke)]
