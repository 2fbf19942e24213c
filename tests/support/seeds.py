"""The rows data migrations seed — settlement's (the BHD calendar with Bahrain's holidays, the
default fee plan and terms) and reconciliation's default matching rules — put back for
transactional tests.

pytest-django runs transactional tests (``transaction=True``) after the others, and each ends by
emptying every table: a data migration's rows are gone for the next one. A transactional test
that settles calls :func:`settlement_seeds_restore` first; it runs the migrations' own seeding
functions, so the rows are exactly as migrated.
"""

import importlib

from django.apps import apps

from apps.settlement.models import BusinessCalendar, FeePlan

_SEEDS = {
    BusinessCalendar: "apps.settlement.migrations.0002_bahrain_calendar",
    FeePlan: "apps.settlement.migrations.0005_default_fee_plan",
}


def settlement_seeds_restore() -> None:
    for model, migration in _SEEDS.items():
        if not model.objects.exists():
            importlib.import_module(migration).seed(apps, None)


def matching_rules_restore() -> None:
    """Reconciliation's four default matching rules, as migrated (kept if they are there)."""
    importlib.import_module("apps.reconciliation.migrations.0010_matching_defaults").rules_seed(apps, None)
