"""Staff roles (the groups ops 0001 creates) granted an app's permissions by a data migration.

    operations = [role_permissions_grant("payments", {"Treasury operator": ["payments.view_payment"]})]

The app's permissions are created first: during ``migrate`` Django only creates them after
every migration has run, too late for a grant in the middle.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.migrations.state import StateApps


def _permissions(apps: StateApps, dotted_names: Sequence[str]) -> Iterator[Any]:
    Permission = apps.get_model("auth", "Permission")
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def role_permissions_grant(app_label: str, grants: Mapping[str, Sequence[str]]) -> migrations.RunPython:
    """A reversible operation adding ``grants`` (role name → ``"app.codename"`` permissions)."""

    def grant(apps: StateApps, schema_editor: Any) -> None:
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        for role, permissions in grants.items():
            Group.objects.get(name=role).permissions.add(*_permissions(apps, permissions))

    def revoke(apps: StateApps, schema_editor: Any) -> None:
        Group = apps.get_model("auth", "Group")
        for role, permissions in grants.items():
            Group.objects.get(name=role).permissions.remove(*_permissions(apps, permissions))

    return migrations.RunPython(grant, revoke)
