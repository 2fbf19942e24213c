"""Payout files and status reports in the admin: the XML downloads as released; a treasury operator
imports a pain.002 (refusals shown on the form, nothing written); others may not."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.settlement.models import PayoutFile, StatusReport
from tests.factories.staff import TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db
SUPPORT = "Support (read-only)"


@pytest.fixture
def payout_file():
    now = datetime(2031, 4, 8, 10, tzinfo=UTC)
    return PayoutFile.objects.create(
        message_id="pf_01TEST", currency="BHD", nostro="nbb-bhd-01", requested_execution_date=now.date(), payouts=1,
        control_sum=18_247, document=b"<Document>released</Document>", sha256="0" * 64, created_at=now,
        created_by="tests")


def test_a_payout_file_lists_its_control_sum_as_money_and_downloads_as_released(payout_file):
    client = signed_in_client(staff_user(SUPPORT))
    listing = client.get("/admin/settlement/payoutfile/")
    assert listing.status_code == 200 and "18.247 BHD" in listing.content.decode()
    download = client.get(f"/admin/settlement/payoutfile/{payout_file.pk}/download/")
    assert download.status_code == 200 and download.content == b"<Document>released</Document>"
    assert download["Content-Disposition"] == 'attachment; filename="pf_01TEST.xml"'


def test_a_malformed_report_is_refused_on_the_form_and_nothing_is_written(payout_file):
    client = signed_in_client(staff_user(TREASURY))
    page = client.post("/admin/settlement/statusreport/import/",
                       {"report": SimpleUploadedFile("report.xml", b"<Document><unclosed></Document>")})
    assert page.status_code == 200 and "line 1" in page.content.decode()
    assert not StatusReport.objects.exists()


def test_only_treasury_imports_reports(payout_file):
    assert signed_in_client(staff_user(SUPPORT)).get("/admin/settlement/statusreport/import/").status_code == 403
    page = signed_in_client(staff_user(TREASURY)).get("/admin/settlement/statusreport/")
    assert "Import a status report" in page.content.decode()
