"""Screening merchants and payout beneficiaries: hits recorded, alerts raised through the
sanctions rule, payouts held, the allow-list suppressing a cleared hit until it expires, and the
chunked re-screen after an import."""

from datetime import timedelta

import pytest
import time_machine

from apps.compliance import services
from apps.compliance.models import Alert, Case, SanctionsAllowListEntry, SanctionsRescreen, ScreeningHit
from apps.compliance.profiles import merchant_profile_sync
from apps.compliance.sanctions import screening
from apps.compliance.sanctions.allow_list import SANCTIONS_ALLOW_LIST
from apps.core import clock
from apps.events.outbox.models import OutboxMessage
from tests.compliance.sanctions.conftest import import_list, merchant
from tests.factories.staff import totp_code

pytestmark = pytest.mark.django_db


def test_onboarding_a_merchant_schedules_its_screening_and_a_new_name_schedules_another():
    merchant_id = merchant("Acme Trading W.L.L.")
    screening_messages = OutboxMessage.objects.filter(task_name="compliance.sanctions_merchant_screen")

    assert [message.kwargs for message in screening_messages.all()] == [{"merchant_id": str(merchant_id)}]
    profile_args = {"merchant_id": merchant_id, "country": "BH", "onboarded_at": clock.now()}
    merchant_profile_sync(legal_name="Acme Trading W.L.L.", **profile_args)
    assert screening_messages.count() == 1  # same name: nothing to screen again
    merchant_profile_sync(legal_name="Acme Gulf Trading W.L.L.", **profile_args)
    assert screening_messages.count() == 2


def test_a_merchant_matching_a_listed_entity_gets_a_hit_and_an_alert_once(sanctions_rule, un_list, ofac_list):
    merchant_id = merchant("Al Nur Trading Co.")

    [hit] = screening.merchant_screen(merchant_id=merchant_id)
    again = screening.merchant_screen(merchant_id=merchant_id)

    assert (hit.version, hit.entry.reference, hit.subject_type, hit.subject_id) == (
        un_list, "QDe.990", "merchant", str(merchant_id))
    assert hit.score >= 88
    assert [field["listed"] for field in hit.matched_fields] == ["Nur Trading Company"]
    assert [item.pk for item in again] == [hit.pk]
    alert = Alert.objects.get()
    assert hit.alert == alert and ScreeningHit.objects.get(pk=hit.pk).alert == alert
    assert (alert.rule, alert.subject_type, alert.merchant_id, alert.hold_state) == (
        sanctions_rule, "merchant", merchant_id, "")
    assert alert.evidence["hits"][0]["entry_reference"] == "QDe.990"
    assert alert.evidence["hits"][0]["list"] == "un"
    assert Case.objects.get().severity == "critical"


def test_a_clean_merchant_has_no_hit(sanctions_rule, un_list, ofac_list):
    assert screening.merchant_screen(merchant_id=merchant("Bahrain Coffee Roasters W.L.L.")) == []
    assert not Alert.objects.exists()


def test_without_an_enabled_sanctions_rule_hits_are_recorded_but_raise_nothing(sanctions_rule, un_list):
    sanctions_rule.enabled = False
    sanctions_rule.save()

    [hit] = screening.merchant_screen(merchant_id=merchant("Al-Noor General Trading Est."))

    assert hit.alert is None and not Alert.objects.exists()


def test_a_payout_to_a_listed_beneficiary_is_held_by_the_alert(sanctions_rule, ofac_list):
    merchant_id = merchant("Acme Trading W.L.L.")
    with time_machine.travel(clock.now(), tick=False):
        alert = screening.payout_beneficiary_screen(
            payout_id="po_1", beneficiary_name="Abdulkarim Al-Masri", merchant_id=merchant_id, livemode=True,
            iban="BH67BMAG00001299123456")
        held_until = clock.now() + timedelta(hours=24)

    assert (alert.hold_object_type, alert.hold_object_id, alert.hold_state, alert.hold_due_at) == (
        "payments.payout", "po_1", "held", held_until)
    assert (alert.subject_type, alert.subject_id) == ("counterparty", "BH67BMAG00001299123456")
    # Screening the same payout again (a retried call) holds it with the same alert.
    assert screening.payout_beneficiary_screen(
        payout_id="po_1", beneficiary_name="Abdulkarim Al-Masri", merchant_id=merchant_id, livemode=True,
        iban="BH67BMAG00001299123456") == alert
    assert Alert.objects.count() == 1


def test_a_beneficiary_passport_on_the_list_holds_the_payout_whatever_the_name(sanctions_rule, ofac_list):
    alert = screening.payout_beneficiary_screen(payout_id="po_2", beneficiary_name="K. Smith", merchant_id=None,
                                                livemode=False, identifiers=["A1234567"])

    [hit] = ScreeningHit.objects.filter(alert=alert)
    assert (float(hit.score), hit.matched_fields[0]["field"], hit.occasion) == (100.0, "passport", "payout")


def test_a_payout_to_a_clean_beneficiary_or_under_an_alert_only_rule_goes(sanctions_rule, ofac_list):
    assert screening.payout_beneficiary_screen(payout_id="po_3", beneficiary_name="Fatima Khan", merchant_id=None,
                                               livemode=True) is None
    sanctions_rule.action = "alert"
    sanctions_rule.save()

    assert screening.payout_beneficiary_screen(payout_id="po_4", beneficiary_name="Gulf Horizon Shipping",
                                               merchant_id=None, livemode=True) is None
    assert Alert.objects.get().hold_state == ""


def test_an_allow_listed_hit_raises_no_alert_until_the_clearance_expires(sanctions_rule, un_list, officer,
                                                                         supervisor):
    merchant_id = merchant("Al Nur Trading Co.")
    [hit] = screening.merchant_screen(merchant_id=merchant_id)
    expires_on = (clock.now() + timedelta(days=30)).date().isoformat()
    request = services.approval_request_create(
        action=SANCTIONS_ALLOW_LIST, arguments={"hit_id": str(hit.pk), "expires_on": expires_on}, user=officer,
        reason="Different company: Al Nur Trading Co. is CR 12345, registered 2011 in Manama")
    assert request.state == "pending"  # always needs a checker
    services.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=totp_code(supervisor))
    allowed = SanctionsAllowListEntry.objects.get()
    assert (allowed.subject_id, allowed.entry_reference, allowed.reason) == (
        str(merchant_id), "QDe.990", request.reason)

    # The next version lists the same entry: the hit is recorded, cleared, and raises nothing.
    next_version = import_list("un", "un_consolidated_next.xml")
    [cleared] = screening.merchant_screen(merchant_id=merchant_id)
    assert (cleared.version, cleared.allow_listed_by) == (next_version, allowed)
    assert Alert.objects.count() == 1

    with time_machine.travel(allowed.expires_at + timedelta(minutes=1), tick=False):
        third = import_list("un", "un_consolidated.xml")
        [expired] = screening.merchant_screen(merchant_id=merchant_id)
    assert (expired.version, expired.allow_listed_by) == (third, None)
    assert Alert.objects.count() == 2


def test_an_allow_list_request_must_name_a_hit_and_a_day_within_a_year(sanctions_rule, un_list, officer):
    [hit] = screening.merchant_screen(merchant_id=merchant("Al Nur Trading Co."))

    for arguments in ({"hit_id": str(hit.pk), "expires_on": "2020-01-01"},
                      {"hit_id": str(hit.pk), "expires_on": "next week"},
                      {"hit_id": "00000000-0000-0000-0000-000000000000", "expires_on": "2099-01-01"}):
        with pytest.raises(services.InvalidRequest):
            services.approval_request_create(action=SANCTIONS_ALLOW_LIST, arguments=arguments, user=officer,
                                             reason="cleared")


def test_the_rescreen_after_an_import_goes_in_chunks_with_progress(sanctions_rule):
    merchants = [merchant(name) for name in ("Al Nur Trading Co.", "Acme Trading W.L.L.", "Noor Trading Company")]
    version = import_list("un", "un_consolidated.xml")
    rescreen = SanctionsRescreen.objects.get(version=version)
    chunk_messages = OutboxMessage.objects.filter(task_name="compliance.sanctions_rescreen")
    assert chunk_messages.count() == 1

    first = screening.rescreen_chunk(rescreen_id=rescreen.pk, size=2)
    assert (first.total, first.screened, first.finished_at, first.cursor) == (3, 2, None, sorted(merchants)[1])
    assert chunk_messages.count() == 2  # the next chunk, scheduled with this one's progress

    last = screening.rescreen_chunk(rescreen_id=rescreen.pk, size=2)
    assert (last.screened, last.hits, last.finished_at is not None) == (3, 2, True)
    assert chunk_messages.count() == 2
    assert set(ScreeningHit.objects.values_list("occasion", flat=True)) == {"list_update"}
    assert Alert.objects.count() == 2
    # A chunk delivered twice does nothing more.
    assert screening.rescreen_chunk(rescreen_id=rescreen.pk, size=2).screened == 3
