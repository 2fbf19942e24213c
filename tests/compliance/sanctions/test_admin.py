"""The sanctions screens: an officer uploads a list (or sees why it was refused), reads versions,
entries and hits with the re-screen's progress, and asks for a hit to be cleared."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.compliance.models import ApprovalRequest, SanctionsListVersion
from apps.compliance.sanctions import screening
from apps.core import clock
from tests.compliance.sanctions.conftest import FIXTURES, merchant
from tests.factories.staff import signed_in_client

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:compliance_sanctionslistversion_import")


def _upload(client, source: str, name: str):
    return client.post(IMPORT_URL, {"source": source,
                                    "file": SimpleUploadedFile(name, (FIXTURES / name).read_bytes())})


def test_an_officer_imports_a_list_from_the_upload_form_and_sees_its_counts(officer):
    client = signed_in_client(officer)
    assert 'href="/admin/compliance/sanctionslistversion/import/"' in client.get(
        reverse("admin:compliance_sanctionslistversion_changelist")).content.decode()

    response = _upload(client, "un", "un_consolidated.xml")

    version = SanctionsListVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:compliance_sanctionslistversion_change", args=[version.pk])
    page = client.get(response["Location"]).content.decode()
    assert "0 of 0 merchants" in page or "done" in page
    assert (version.imported_by, version.entries_count) == ("olivia", 3)
    entries = client.get(reverse("admin:compliance_sanctionsentry_changelist") + "?q=QDe.990").content.decode()
    assert "AL-NOOR GENERAL TRADING ESTABLISHMENT" in entries


def test_a_malformed_upload_is_refused_on_the_form_with_its_line_and_nothing_is_written(officer):
    response = _upload(signed_in_client(officer), "ofac", "ofac_bad_type.xml")

    assert response.status_code == 200
    assert "ofac_bad_type.xml, line 91: unknown &lt;sdnType&gt; &#x27;Ship&#x27;" in response.content.decode()
    assert not SanctionsListVersion.objects.exists()


def test_support_can_read_lists_but_not_import(support):
    client = signed_in_client(support)

    assert client.get(reverse("admin:compliance_sanctionslistversion_changelist")).status_code == 200
    assert client.get(IMPORT_URL).status_code == 403


def test_an_officer_asks_for_a_hit_to_be_cleared_from_its_page(officer, sanctions_rule, un_list):
    [hit] = screening.merchant_screen(merchant_id=merchant("Al Nur Trading Co."))
    client = signed_in_client(officer)
    page = client.get(reverse("admin:compliance_screeninghit_change", args=[hit.pk])).content.decode()
    url = reverse("admin:compliance_screeninghit_allow_list") + f"?hit={hit.pk}"
    assert f'href="{url}"' in page
    assert "AL-NOOR GENERAL TRADING ESTABLISHMENT (QDe.990)" in client.get(url).content.decode()

    too_late = client.post(url, {"expires_on": "2099-01-01", "reason": "A different company: CR 12345"})
    assert too_late.status_code == 200 and "within 366 days" in too_late.content.decode()
    assert not ApprovalRequest.objects.exists()

    expires_on = (clock.now() + timedelta(days=90)).date().isoformat()
    requested = client.post(url, {"expires_on": expires_on, "reason": "A different company: CR 12345"})

    approval = ApprovalRequest.objects.get()
    assert requested["Location"] == reverse("admin:compliance_approvalrequest_change", args=[approval.pk])
    assert (approval.action, approval.arguments, approval.state) == (
        "compliance.sanctions_allow_list", {"hit_id": str(hit.pk), "expires_on": expires_on}, "pending")


def test_the_request_page_opened_without_a_hit_leads_to_the_hits(officer):
    response = signed_in_client(officer).get(reverse("admin:compliance_screeninghit_allow_list") + "?hit=nonsense")

    assert response["Location"] == reverse("admin:compliance_screeninghit_changelist")
