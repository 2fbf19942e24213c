"""The sandbox connectors and default routing rules, as ``migrate`` seeds them.

A transactional test ends with a flush that empties every table, seeded rows included; a test
that needs them after one (any ``transaction=True`` test, as those run last) asks for them here.
"""

import importlib

from django.apps import apps as django_apps

from apps.routing.models import Connector

_SEEDINGS = [importlib.import_module(f"apps.routing.migrations.{name}")
             for name in ("0002_sandbox_connectors", "0005_connector_and_rule_modes")]


def sandbox_seeded() -> None:
    if not Connector.objects.exists():
        for seeding in _SEEDINGS:
            seeding.seed(django_apps, None)
