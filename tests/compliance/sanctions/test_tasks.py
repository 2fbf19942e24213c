"""Screening's tasks on a real worker: onboarding screens a merchant, an import re-screens them all,
each through the outbox once the change has committed."""

import pytest

from apps.compliance.models import Alert, SanctionsRescreen, ScreeningHit
from tests.compliance.sanctions.conftest import import_list, merchant
from tests.support.workers import purge_all_queues, running_worker, wait_until


@pytest.mark.django_db(transaction=True)
def test_onboarding_and_an_import_screen_merchants_on_the_compliance_worker(sanctions_rule):
    purge_all_queues()
    listed = merchant("Al Nur Trading Co.")
    merchant("Bahrain Coffee Roasters W.L.L.")
    version = import_list("un", "un_consolidated.xml")

    with running_worker("compliance"):
        wait_until(lambda: SanctionsRescreen.objects.get(version=version).finished_at is not None,
                   message="the re-screen after the import")

    rescreen = SanctionsRescreen.objects.get(version=version)
    assert (rescreen.total, rescreen.screened, rescreen.hits) == (2, 2, 1)
    hit = ScreeningHit.objects.get()
    assert (hit.subject_id, hit.entry.reference) == (str(listed), "QDe.990")
    # Screened on onboarding and again by the re-screen, against the same version, in whichever
    # order the worker takes them: one hit, one alert.
    assert Alert.objects.get().subject_id == str(listed)

