"""Who sees sign-in records and who may release a login lock.

Compliance supervisors see failed logins, locks and completed sign-ins, and may unlock a
username locked after five failures ("axes.unlock_accessattempt", a permission django-axes does
not define, so it is made here). Nobody else but superusers sees them. Only superusers manage
users, roles and two-factor devices (they need no grant).
"""

from django.db import migrations

from apps.core.roles import role_permissions_grant

UNLOCK = ("unlock_accessattempt", "Can unlock a locked-out login")
SIGN_IN_RECORDS = ["axes.view_accessattempt", "axes.view_accessfailurelog", "axes.view_accesslog"]
GRANTS = {"Compliance supervisor": [*SIGN_IN_RECORDS, f"axes.{UNLOCK[0]}"]}


def unlock_permission_create(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="axes", model="accessattempt")
    Permission.objects.get_or_create(content_type=content_type, codename=UNLOCK[0], defaults={"name": UNLOCK[1]})


def unlock_permission_remove(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(content_type__app_label="axes", codename=UNLOCK[0]).delete()


class Migration(migrations.Migration):
    dependencies = [("ops", "0002_ledger_roles"), ("axes", "0010_accessattemptexpiration")]

    operations = [
        migrations.RunPython(unlock_permission_create, unlock_permission_remove),
        role_permissions_grant("axes", GRANTS),
    ]
