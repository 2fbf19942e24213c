"""The staff roles, as groups. Add a person to a group in the admin to give them the role.

Later migrations grant each role the permissions of the models they add.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Compliance officer": [
        "merchants.view_merchant", "merchants.change_merchant",
        "merchants.view_apikey", "merchants.change_apikey",
        "audit.view_auditevent", "auditlog.view_logentry",
        "events.view_deadletter",
    ],
    "Compliance supervisor": [
        "merchants.view_merchant", "merchants.change_merchant",
        "merchants.view_apikey", "merchants.change_apikey", "merchants.add_apikey",
        "audit.view_auditevent", "auditlog.view_logentry",
        "events.view_deadletter", "events.view_outboxmessage",
        "auth.view_user", "auth.view_group",
    ],
    "Treasury operator": [
        "merchants.view_merchant",
        "audit.view_auditevent",
        "events.view_deadletter", "events.view_outboxmessage", "events.replay_deadletter",
        "django_celery_beat.view_periodictask",
    ],
    "Support (read-only)": [
        "merchants.view_merchant", "merchants.view_apikey",
        "audit.view_auditevent", "auditlog.view_logentry",
        "events.view_deadletter", "events.view_outboxmessage",
        "django_celery_beat.view_periodictask",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after the last migration; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, permissions in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("merchants", "0001_initial"),
        ("audit", "0001_initial"),
        ("events", "0001_initial"),
        ("auditlog", "0017_add_actor_email"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
