"""Case work: assign, append-only notes (the database refuses edits), attachments, status, holds,
actions through maker-checker from a case, the STR export, and the admin's case page."""

import hashlib
import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InternalError, connection, transaction
from django.urls import reverse
from lxml import etree

from apps.audit.models import AuditEvent
from apps.compliance import services as approvals
from apps.compliance.alerts.holds import hold_handlers_register
from apps.compliance.alerts.services import alert_raise
from apps.compliance.cases import services
from apps.compliance.cases.str_export import SCHEMA_PATH, StrInvalid, str_validate
from apps.compliance.data import Hold, Subject, SubjectType
from apps.compliance.models import ATTACHMENT_MAX_BYTES, Alert, Case, CaseNote, MonitoringRule
from apps.core import clock, ids
from apps.core.exceptions import FincoreError
from tests.factories import ledger as ledger_factories
from tests.factories.staff import OFFICER, SUPERVISOR, SUPPORT, signed_in_client, staff_user, totp_code

pytestmark = pytest.mark.django_db

HELD = "tests.held_thing"
decisions: list[tuple[str, str]] = []


def _release(*, object_id: str, actor, reason: str) -> None:
    decisions.append(("release", object_id))


def _decline(*, object_id: str, actor, reason: str) -> None:
    decisions.append(("decline", object_id))


hold_handlers_register(HELD, release=_release, decline=_decline)


@pytest.fixture
def officer():
    return staff_user(OFFICER, username="olivia")


@pytest.fixture
def rule():
    return MonitoringRule.objects.create(name="Large test amount", kind="large_amount", severity="high",
                                         parameters={"BHD": {"amount": 1000}}, updated_at=clock.now(),
                                         updated_by="tests")


def _alert(rule, *, subject: Subject | None = None, hold: Hold | None = None, key: str | None = None) -> Alert:
    merchant = uuid.uuid4()
    subject = subject or Subject(SubjectType.MERCHANT, str(merchant), "Acme Trading W.L.L.", merchant)
    return alert_raise(rule=rule, subject=subject, event_key=key or str(uuid.uuid4()),
                       evidence={"amount": "1.500 BHD"}, livemode=True, hold=hold)


def _steps(case: Case) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="compliance.case", object_id=str(case.pk))
                .order_by("id").values_list("action", flat=True))


def test_an_officer_works_a_case_from_open_to_closed_and_each_step_is_journaled(officer, rule):
    case = _alert(rule).case

    services.case_assign(case_id=case.pk, user=officer, assignee=officer)
    services.case_note_add(case_id=case.pk, user=officer, body="Called the merchant.")
    services.case_status_change(case_id=case.pk, user=officer, status="investigating", reason="looking")
    services.case_status_change(case_id=case.pk, user=officer, status="escalated", reason="pattern")
    services.case_close(case_id=case.pk, user=officer, disposition="no_further_action", reason="explained")

    case.refresh_from_db()
    assert (case.status, case.disposition, case.closed_by, case.assignee) == ("closed", "no_further_action",
                                                                             officer, officer)
    assert set(case.alerts.values_list("status", flat=True)) == {"closed"}
    assert _steps(case) == ["case.opened", "case.assigned", "case.note_added", "case.investigating",
                            "case.escalated", "case.closed"]


def test_the_journal_every_role_reads_keeps_a_notes_fingerprint_not_its_words(officer, rule):
    case = _alert(rule).case
    note = services.case_note_add(case_id=case.pk, user=officer, body="Merchant's director is a PEP's cousin.")

    journaled = AuditEvent.objects.get(action="case.note_added", object_id=str(case.pk))
    assert "PEP" not in json.dumps([journaled.reason, journaled.before, journaled.after], default=str)
    assert hashlib.sha256(note.body.encode()).hexdigest() in journaled.reason


def test_transitions_follow_the_order_and_a_closed_case_takes_no_more_work(officer, rule):
    case = _alert(rule).case

    with pytest.raises(services.CaseTransitionNotAllowed):
        services.case_status_change(case_id=case.pk, user=officer, status="escalated", reason="skip")
    with pytest.raises(services.CaseTransitionNotAllowed):
        services.case_close(case_id=case.pk, user=officer, disposition="false_positive", reason="not yet")
    services.case_status_change(case_id=case.pk, user=officer, status="investigating", reason="looking")
    services.case_close(case_id=case.pk, user=officer, disposition="false_positive", reason="fine")
    with pytest.raises(services.CaseClosed):
        services.case_note_add(case_id=case.pk, user=officer, body="late")


def test_only_those_who_may_work_cases_do(rule):
    case = _alert(rule).case

    for user in (staff_user(SUPERVISOR), staff_user(SUPPORT)):
        with pytest.raises(services.CaseWorkRefused):
            services.case_note_add(case_id=case.pk, user=user, body="hello")


def test_the_database_refuses_to_edit_or_delete_a_note(officer, rule):
    note = services.case_note_add(case_id=_alert(rule).case.pk, user=officer, body="first words")

    for statement in ("UPDATE compliance_casenote SET body = 'other words' WHERE id = %s",
                      "DELETE FROM compliance_casenote WHERE id = %s"):
        with (pytest.raises((IntegrityError, InternalError), match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(statement, [note.pk])
    assert CaseNote.objects.get(pk=note.pk).body == "first words"


def test_an_attachment_is_kept_with_its_sha256_and_a_large_one_refused(officer, rule):
    case = _alert(rule).case
    content = b"%PDF-1.4 statement"

    attachment = services.case_attachment_add(case_id=case.pk, user=officer, filename="statement.pdf",
                                              content_type="application/pdf", content=content)

    assert (attachment.size, attachment.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert AuditEvent.objects.get(action="case.attachment_added").after["sha256"] == attachment.sha256
    with pytest.raises(services.InvalidCaseWork):
        services.case_attachment_add(case_id=case.pk, user=officer, filename="big.bin", content_type="",
                                     content=b"x" * (ATTACHMENT_MAX_BYTES + 1))


def test_an_officer_releases_or_declines_a_hold_through_the_owners_handlers(officer, rule):
    due = clock.now() + timedelta(hours=24)
    released = _alert(rule, hold=Hold(HELD, "thing-1", due))
    declined = _alert(rule, hold=Hold(HELD, "thing-2", due))
    decisions.clear()

    services.alert_hold_release(alert_id=released.pk, user=officer, reason="documents seen")
    services.alert_hold_decline(alert_id=declined.pk, user=officer, reason="no answer")

    assert decisions == [("release", "thing-1"), ("decline", "thing-2")]
    released.refresh_from_db()
    assert (released.hold_state, released.hold_decided_by) == ("released", "olivia")
    with pytest.raises(services.HoldNotWaiting):
        services.alert_hold_decline(alert_id=released.pk, user=officer, reason="again")
    assert AuditEvent.objects.filter(action__in=["alert.hold_released", "alert.hold_declined"]).count() == 2


def test_a_case_holding_something_cannot_close(officer, rule):
    alert = _alert(rule, hold=Hold(HELD, "thing-3", clock.now() + timedelta(hours=1)))
    services.case_status_change(case_id=alert.case_id, user=officer, status="investigating", reason="looking")

    with pytest.raises(services.CaseTransitionNotAllowed):
        services.case_close(case_id=alert.case_id, user=officer, disposition="false_positive", reason="fine")


def test_holds_nobody_reviewed_in_time_are_declined_by_the_sweep(rule):
    now = clock.now()
    late = _alert(rule, hold=Hold(HELD, "late", now + timedelta(hours=1)))
    on_time = _alert(rule, hold=Hold(HELD, "on-time", now + timedelta(hours=5)))
    decisions.clear()

    with time_machine.travel(now + timedelta(hours=2), tick=False):
        assert services.holds_expire() == 1

    late.refresh_from_db()
    on_time.refresh_from_db()
    assert (late.hold_state, late.hold_decided_by, on_time.hold_state) == (
        "declined", "compliance.hold_expiry", "held")
    assert decisions == [("decline", "late")]


def test_a_freeze_requested_from_a_case_links_to_it_and_publishes_its_events(officer, rule):
    wallet = ledger_factories.wallet()
    subject = Subject(SubjectType.WALLET, ids.encode("acc", wallet.pk), "Wallet of a customer", None)
    case = _alert(rule, subject=subject).case
    assert [name for name, _, _ in services.case_actions(case)] == ["ledger.account_freeze"]

    request = services.case_action_request(case_id=case.pk, user=officer, action="ledger.account_freeze",
                                           reason="funds of a fraud")
    checker = staff_user(SUPERVISOR, username="sara")
    approvals.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    wallet.refresh_from_db()
    assert (request.case_id, request.state, wallet.frozen) == (case.pk, "executed", True)
    assert "case.action_requested" in _steps(case)


def test_freezing_all_a_merchants_accounts(officer, rule):
    merchant = uuid.uuid4()
    from apps.ledger import services as ledger_services

    accounts = ledger_services.merchant_accounts_open(merchant_id=merchant, currencies=["BHD"])
    case = _alert(rule, subject=Subject(SubjectType.MERCHANT, str(merchant), "Acme", merchant)).case

    request = services.case_action_request(case_id=case.pk, user=officer,
                                           action="compliance.merchant_accounts_freeze", reason="sanctions")
    checker = staff_user(SUPERVISOR, username="sara")
    approvals.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert request.state == "executed", request.outcome
    assert all(type(account).objects.get(pk=account.pk).frozen for account in accounts)
    with pytest.raises(FincoreError):
        services.case_action_request(case_id=case.pk, user=officer, action="compliance.merchant_accounts_freeze",
                                     reason="again")


def test_closing_as_str_filed_stores_a_report_that_validates_and_journals_its_sha256(officer, rule):
    case = _alert(rule).case
    services.case_status_change(case_id=case.pk, user=officer, status="investigating", reason="looking")

    services.case_close(case_id=case.pk, user=officer, disposition="str_filed", reason="Structured deposits.")

    report = Case.objects.get(pk=case.pk).str_report
    xml = bytes(report.content)
    str_validate(xml)
    assert report.sha256 == hashlib.sha256(xml).hexdigest()
    assert AuditEvent.objects.get(action="case.str_filed").after["sha256"] == report.sha256
    document = etree.fromstring(xml)
    assert (document.findtext("report_code"), document.findtext("reason")) == ("STR", "Structured deposits.")
    assert etree.XMLSchema(etree.parse(str(SCHEMA_PATH))).validate(document)
    with pytest.raises(StrInvalid):
        str_validate(xml.replace(b"<report_code>STR</report_code>", b"<report_code>CTR</report_code>"))


def test_the_case_page_drives_the_work_through_post_forms(officer, rule):
    alert = _alert(rule, hold=Hold(HELD, "thing-page", clock.now() + timedelta(hours=3)))
    case = alert.case
    client = signed_in_client(officer)
    page = reverse("admin:compliance_case_change", args=[case.pk])

    def work(step: str, **data):
        response = client.post(reverse("admin:compliance_case_work", args=[case.pk, step]), data)
        assert response.status_code == 302 and response["Location"] == page
        return client.get(page).content.decode()

    html = client.get(page).content.decode()
    for form_id in ("case-assign", "case-note", "case-attach", "case-status-investigating",
                    f"hold-release-{alert.pk}", f"hold-decline-{alert.pk}",
                    "case-action-compliance-merchant-accounts-freeze", "case-action-merchants-suspend"):
        assert f'id="{form_id}"' in html, form_id
    html = work("note", body="Spoke to the merchant.")
    assert "Spoke to the merchant." in html
    client.post(reverse("admin:compliance_case_work", args=[case.pk, "attach"]),
                {"file": SimpleUploadedFile("id.txt", b"passport scan")})
    html = work("release", alert=str(alert.pk), reason="fine")
    html = work("status", status="investigating", reason="looking")
    html = work("close", disposition="str_filed", reason="Suspicious pattern.")
    assert 'id="case-str-download"' in html and "id.txt" in html
    download = client.get(reverse("admin:compliance_case_str", args=[case.pk]))
    str_validate(download.content)

    listing = client.get(reverse("admin:compliance_case_changelist"), {"status__exact": "closed",
                                                                      "severity__exact": "high"})
    assert listing.status_code == 200 and "Acme Trading" in listing.content.decode()
    alerts = client.get(reverse("admin:compliance_alert_changelist"), {"rule__id__exact": rule.pk})
    assert alerts.status_code == 200


def test_the_dashboard_shows_the_compliance_tile(officer, rule):
    _alert(rule)
    html = signed_in_client(officer).get("/admin/").content.decode()

    assert "Compliance: alerts, overdue cases, holds" in html
