"""What screening needs: the sanctions rule monitoring seeds (made here, so these tests do not
depend on monitoring's seed), the lists imported from the hand-written fixtures, and merchants."""

import importlib
import uuid
from pathlib import Path

import pytest

from apps.compliance.models import MonitoringRule, SanctionsList, SanctionsListVersion
from apps.compliance.profiles import merchant_profile_sync
from apps.compliance.sanctions import imports
from apps.core import clock
from apps.core.actors import Actor

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sanctions"
IMPORTER = Actor.system("tests")


# The three lists the migration seeds, as it seeds them.
SEEDED_LISTS = importlib.import_module("apps.compliance.migrations.0010_sanctions_lists_and_roles").LISTS


def import_list(source: str, name: str, content: bytes | None = None) -> SanctionsListVersion:
    """Import a fixture file; the lists are made again first where a transactional test emptied them."""
    for seeded_source, list_name, threshold in SEEDED_LISTS:
        SanctionsList.objects.get_or_create(source=seeded_source, defaults={"name": list_name, "threshold": threshold})
    return imports.sanctions_list_import(source=source, content=content or (FIXTURES / name).read_bytes(),
                                         file_name=name, actor=IMPORTER)


def merchant(legal_name: str, country: str = "BH") -> uuid.UUID:
    merchant_id = uuid.uuid4()
    merchant_profile_sync(merchant_id=merchant_id, legal_name=legal_name, country=country, onboarded_at=clock.now())
    return merchant_id


@pytest.fixture
def sanctions_rule(db) -> MonitoringRule:
    """The rule the migrations seed (made again where a transactional test emptied the table)."""
    rule, _ = MonitoringRule.objects.update_or_create(
        name="Sanctions list match",
        defaults={"kind": MonitoringRule.Kind.SANCTIONS_HIT, "severity": "critical", "enabled": True,
                  "action": MonitoringRule.Action.HOLD, "hold_hours": 24, "updated_at": clock.now(),
                  "updated_by": "seed"},
    )
    return rule


@pytest.fixture
def un_list(db) -> SanctionsListVersion:
    return import_list("un", "un_consolidated.xml")


@pytest.fixture
def ofac_list(db) -> SanctionsListVersion:
    return import_list("ofac", "ofac_sdn.xml")
