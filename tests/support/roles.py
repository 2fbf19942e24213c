"""The staff roles as the migrations made them, for transactional tests.

A transactional test (``transaction=True``: a server or worker in another process must see its
rows) ends by emptying every table; the permissions come back with the next ``post_migrate``, the
roles (groups) do not. The suite takes a snapshot of the roles right after it creates the test
database (``django_db_setup`` in tests/conftest.py), and :func:`roles_restore` puts them back.
"""

from typing import NamedTuple

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType


class _Grant(NamedTuple):
    app_label: str
    model: str
    codename: str
    name: str  # a permission a migration made (not a model's Meta) comes back only from here


_ROLES_AS_MIGRATED: dict[str, list[_Grant]] = {}


def roles_snapshot() -> None:
    _ROLES_AS_MIGRATED.clear()
    for group in Group.objects.prefetch_related("permissions__content_type"):
        _ROLES_AS_MIGRATED[group.name] = [
            _Grant(p.content_type.app_label, p.content_type.model, p.codename, p.name) for p in group.permissions.all()
        ]


def roles_restore() -> None:
    """Create the roles that are missing, with their permissions as migrated."""
    assert _ROLES_AS_MIGRATED, "no snapshot of the roles: was the test database created by this run?"
    for name, grants in _ROLES_AS_MIGRATED.items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.add(*(_permission(grant) for grant in grants))


def _permission(grant: _Grant) -> Permission:
    content_type, _ = ContentType.objects.get_or_create(app_label=grant.app_label, model=grant.model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=grant.codename, defaults={"name": grant.name}
    )
    return permission
