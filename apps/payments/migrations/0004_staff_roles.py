"""Staff roles and payments: every role sees payments, attempts, captures and refunds (read-only
money rows); treasury operators may also ask a connector about an unresolved attempt now. The
roles themselves are made in ops 0001."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWS = [
    "payments.view_payment", "payments.view_paymentattempt", "payments.view_attemptneedingreview",
    "payments.view_capture", "payments.view_refund",
]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "payments.change_paymentattempt"],
    "Support (read-only)": VIEWS,
}


def _permissions(apps, dotted_names):
    Permission = apps.get_model("auth", "Permission")
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant(apps, schema_editor):
    payments = apps.get_app_config("payments")
    payments.models_module = True
    create_permissions(payments, apps=apps, verbosity=0)
    payments.models_module = None
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.add(*_permissions(apps, permissions))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role, permissions in GRANTS.items():
        Group.objects.get(name=role).permissions.remove(*_permissions(apps, permissions))


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_janitor"), ("ops", "0001_staff_roles")]

    operations = [migrations.RunPython(grant, revoke)]
