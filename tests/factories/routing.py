"""The sandbox connectors and default routing rules, as ``migrate`` seeds them.

A transactional test ends with a flush that empties every table, seeded rows included; a test
that needs them after one (any ``transaction=True`` test, as those run last) asks for them here.
"""

import importlib

from django.apps import apps as django_apps

from apps.routing.models import Connector

_SEEDING = importlib.import_module("apps.routing.migrations.0002_sandbox_connectors")


def sandbox_seeded() -> None:
    if not Connector.objects.exists():
        _SEEDING.seed(django_apps, None)
