"""Staff roles see the ledger (read-only for everyone: nothing in it is edited by hand)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

LEDGER_VIEWS = ["ledger.view_account", "ledger.view_transfer", "ledger.view_entry", "ledger.view_verification"]
GRANTS = {
    "Compliance officer": LEDGER_VIEWS,
    "Compliance supervisor": LEDGER_VIEWS,
    "Treasury operator": LEDGER_VIEWS,
    "Support (read-only)": LEDGER_VIEWS,
}


def _permissions(apps, dotted_names):
    Permission = apps.get_model("auth", "Permission")
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant(apps, schema_editor):
    ledger = apps.get_app_config("ledger")
    ledger.models_module = True
    create_permissions(ledger, apps=apps, verbosity=0)
    ledger.models_module = None
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.add(*_permissions(apps, permissions))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.remove(*_permissions(apps, permissions))


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_staff_roles"), ("ledger", "0001_initial")]

    operations = [migrations.RunPython(grant, revoke)]
