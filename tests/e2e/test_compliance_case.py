"""A compliance officer works a case in Chromium: from the dashboard's tile to the case list, into
the case's file (its alerts with their evidence, the merchant's recent payments), a note, a
document, investigating, escalating, a request to freeze the merchant's accounts through
maker-checker, and closing it as "STR filed" with the report to download."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from apps.compliance.cases.str_export import str_validate
from apps.compliance.data import Observation, ObservationKind, Severity
from apps.compliance.models import ApprovalRequest, Case, CaseAttachment, CaseNote, MonitoringRule, StrReport
from apps.compliance.monitoring import services as monitoring
from apps.compliance.profiles import merchant_profile_sync
from apps.core import clock, ids
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.merchants import merchant_with_key
from tests.factories.staff import OFFICER, staff_user


def _structuring_case(merchant) -> None:
    """Three payments of 950.000 BHD within the hour, each just under 1,000.000: two rules alert."""
    merchant_profile_sync(merchant_id=merchant.pk, legal_name=merchant.legal_name, country=merchant.country,
                          onboarded_at=clock.now() - timedelta(days=400))
    for name, kind, parameters in (
        ("Three payments in an hour", MonitoringRule.Kind.VELOCITY,
         {"dimension": "merchant", "measure": "count", "threshold": 3, "window_minutes": 60}),
        ("Amounts kept under the reporting threshold", MonitoringRule.Kind.STRUCTURING,
         {"amount": 1_000_000, "below_percent": 10, "count": 3, "window_minutes": 1440}),
    ):
        MonitoringRule.objects.create(name=name, kind=kind, parameters={"BHD": parameters}, severity=Severity.HIGH,
                                      updated_at=clock.now(), updated_by="tests")
    now = clock.now()
    for minutes_ago in (40, 20, 1):
        observation = Observation(
            source="payments.payment", source_id=str(ids.uuid7()), kind=ObservationKind.PAYMENT,
            merchant_id=merchant.pk, livemode=True, amount=950_000, currency="BHD",
            occurred_at=now - timedelta(minutes=minutes_ago), method="card", country="BH",
            card_fingerprint="9f" * 32,
        )
        monitoring.observation_record(observation=observation)
        monitoring.observation_evaluate(observation=observation)


def test_an_officer_works_a_case_from_the_dashboard_to_a_filed_str(new_page, screens, tmp_path):
    merchant, _ = merchant_with_key(legal_name="Gulf Pearl Traders W.L.L.")
    _structuring_case(merchant)
    officer = staff_user(OFFICER, username="olivia")
    case = Case.objects.get()

    page = new_page()
    sign_in(page, officer)
    tile = page.locator("#tile-compliance_work")
    expect(tile).to_contain_text("High")
    screens(page, "dashboard")

    page.goto("/admin/compliance/case/")
    expect(page.locator("#result_list")).to_contain_text("Gulf Pearl Traders")
    screens(page, "cases")
    assert list_fits(page)
    page.click("#result_list tbody tr th a")
    expect(page.locator("#case-status")).to_contain_text("Open")
    expect(page.locator("#case-timeline")).to_contain_text("Amounts kept under the reporting threshold")
    expect(page.locator("#case-timeline")).to_contain_text("Three payments in an hour")
    expect(page.locator("body")).to_contain_text("950.000")  # the merchant's recent payments, as money
    screens(page, "case")

    page.fill("#note-body", "Three card payments of 950.000 BHD within 40 minutes, all from one card.")
    page.click("#case-note button")
    expect(page.locator(".messagelist")).to_be_visible()
    evidence = tmp_path / "merchant-call.txt"
    evidence.write_text("Call with the merchant's MLRO, 3 December: no explanation for the split.\n")
    page.set_input_files("#attach-file", str(evidence))
    page.click("#case-attach button")
    expect(page.locator("#case-timeline")).to_contain_text("merchant-call.txt")

    page.fill("#reason-investigating", "Pattern of amounts just under the threshold.")
    page.click("#case-status-investigating button")
    expect(page.locator("#case-status")).to_contain_text("Investigating")
    page.fill("#reason-escalated", "Structuring suspected; MLRO to decide on an STR.")
    page.click("#case-status-escalated button")
    expect(page.locator("#case-status")).to_contain_text("Escalated")

    freeze = page.locator("form.case-action", has_text="Freeze all of a merchant's accounts")
    freeze.locator("input[name=reason]").fill("Keep the funds in place while the STR is filed.")
    freeze.locator("button").click()
    expect(page.locator(".messagelist")).to_contain_text("Requested")
    expect(page.locator("#case-timeline")).to_contain_text("Pending approval")
    screens(page, "escalated-with-freeze-requested")

    page.select_option("#close-disposition", "str_filed")
    page.fill("#close-reason", "Structuring below the reporting threshold: STR filed with the FIU.")
    page.click("#case-close button")
    expect(page.locator("#case-status")).to_contain_text("STR filed")
    with page.expect_download() as download:
        page.click("#case-str-download")
    report_file = tmp_path / "str.xml"
    download.value.save_as(report_file)
    screens(page, "closed")

    case.refresh_from_db()
    assert (case.status, case.disposition) == (Case.Status.CLOSED, Case.Disposition.STR_FILED)
    assert CaseNote.objects.get(case=case).author == officer
    assert CaseAttachment.objects.get(case=case).filename == "merchant-call.txt"
    request = ApprovalRequest.objects.get(case=case)
    assert (request.state, request.maker) == (ApprovalRequest.State.PENDING, officer)
    report = StrReport.objects.get(case=case)
    assert report_file.read_bytes() == bytes(report.content)
    str_validate(report_file.read_bytes())
    assert re.search(r"950(\.0+)?", report_file.read_text())  # the transactions are in the report
    assert AuditEvent.objects.filter(action="case.str_filed", object_id=str(case.pk)).exists()
