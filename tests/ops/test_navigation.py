"""The admin's navigation: sections by the work, from one table; nothing registered is lost."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django_celery_beat.models import SolarSchedule

from apps.ops import navigation
from tests.ops.conftest import staff_user

pytestmark = pytest.mark.django_db


def sections_for(user, path: str = "/admin/") -> list[dict]:
    request = RequestFactory().get(path)
    request.user = user
    return admin.site.get_app_list(request)


def outline(sections: list[dict]) -> list[tuple[str, list[str]]]:
    return [(section["name"], [model["model"]._meta.label for model in section["models"]]) for section in sections]


def test_every_model_in_the_admin_has_its_place_in_the_navigation_table():
    missing = navigation.unplaced(model._meta.label for model in admin.site._registry)

    assert missing == [], f"add these to apps.ops.navigation.SECTIONS (they show under 'Other'): {missing}"


def test_a_superuser_sees_the_sections_in_the_tables_order_and_empty_ones_are_left_out():
    assert outline(sections_for(staff_user(superuser=True))) == [
        ("Payments", ["payments.Payment", "payments.Refund", "payments.Capture", "payments.PaymentAttempt",
                      "payments.AttemptNeedingReview", "routing.RoutingRule", "routing.Connector",
                      "routing.SandboxOperation", "events.WebhookEndpoint", "events.WebhookEvent",
                      "events.WebhookDelivery"]),
        ("Ledger", ["ledger.Account", "ledger.Transfer", "ledger.Entry", "ledger.Verification"]),
        ("Merchants", ["merchants.Merchant", "merchants.ApiKey"]),
        ("Compliance", ["compliance.Alert", "compliance.Case", "compliance.MonitoringRule",
                        "compliance.MonitoredEvent", "compliance.HighRiskJurisdiction", "compliance.MerchantProfile",
                        "compliance.SanctionsList", "compliance.SanctionsListVersion", "compliance.SanctionsEntry",
                        "compliance.ScreeningHit", "compliance.SanctionsRescreen",
                        "compliance.SanctionsAllowListEntry", "compliance.ApprovalRequest",
                        "compliance.ApprovalPolicy"]),
        ("Settlement", ["settlement.BusinessCalendar", "settlement.Holiday", "settlement.FeePlan",
                        "settlement.FeePlanLine", "settlement.SettlementTerms", "settlement.MerchantFeePlan",
                        "settlement.SettlementRun", "settlement.SettlementLine", "payments.Payout",
                        "payments.MerchantPayoutHold",
                        "merchants.BankAccount", "settlement.PayoutFile", "settlement.StatusReport"]),
        ("Treasury", ["treasury.Position", "treasury.LiquidityAlert", "treasury.NostroAccount", "treasury.Sweep",
                      "treasury.FxRate", "treasury.FxQuote", "treasury.FxConversion",
                      "reconciliation.BankStatement", "reconciliation.CsvStatementMapping",
                      "reconciliation.Expectation", "reconciliation.MatchingRule", "reconciliation.Break",
                      "reconciliation.BalanceProof"]),
        ("Operations", ["events.OutboxMessage", "events.DeadLetter", "django_celery_beat.PeriodicTask",
                        "django_celery_beat.IntervalSchedule", "django_celery_beat.CrontabSchedule", "auth.User",
                        "auth.Group", "axes.AccessAttempt",
                        "axes.AccessFailureLog", "axes.AccessLog"]),
        ("Audit", ["audit.AuditEvent", "audit.AdminChange"]),
    ]


def test_the_audit_section_names_the_journal_and_the_record_changes_plainly():
    audit = next(section for section in sections_for(staff_user(superuser=True)) if section["name"] == "Audit")

    assert [(model["name"], model["admin_url"]) for model in audit["models"]] == [
        ("Journal (business events, hash-chained)", "/admin/audit/auditevent/"),
        ("Admin change log (field by field, django-auditlog)", "/admin/audit/adminchange/"),
    ]


def test_a_model_missing_from_the_table_is_shown_under_other_not_lost():
    admin.site.register(SolarSchedule)
    try:
        sections = sections_for(staff_user(superuser=True))
        assert navigation.unplaced(model._meta.label for model in admin.site._registry) == [
            "django_celery_beat.SolarSchedule"
        ]
    finally:
        admin.site.unregister(SolarSchedule)

    assert outline(sections)[-1] == ("Other", ["django_celery_beat.SolarSchedule"])


def test_a_role_sees_only_the_sections_and_models_it_may_view():
    officer = outline(sections_for(staff_user("Compliance officer")))

    assert [name for name, _ in officer] == [
        "Payments", "Ledger", "Merchants", "Compliance", "Settlement", "Treasury", "Operations", "Audit"]
    # No outbox, schedules, users or roles for a compliance officer: only the dead letters.
    assert dict(officer)["Operations"] == ["events.DeadLetter"]

    one_permission = staff_user()
    one_permission.user_permissions.add(Permission.objects.get(codename="view_merchant"))
    assert outline(sections_for(one_permission)) == [("Merchants", ["merchants.Merchant"])]


def test_the_index_and_every_pages_sidebar_list_the_sections(staff_login):
    client = staff_login(staff_user(superuser=True))

    index = client.get("/admin/").content.decode()
    changelist = client.get("/admin/payments/payment/").content.decode()

    for page in (index, changelist):
        for name in ("Payments", "Ledger", "Merchants", "Operations", "Audit"):
            assert f'<span class="section">{name}</span>' in page, name
    # The sidebar marks the section of the page being shown.
    assert '<div class="app-payments module current-app">' in changelist
    assert '<div class="app-ledger module">' in changelist


@pytest.mark.parametrize(("app_label", "title", "model_url"), [
    ("payments", "Payments administration", "/admin/payments/payment/"),
    ("events", "Messaging administration", "/admin/events/deadletter/"),
    ("auth", "Authentication and Authorization administration", "/admin/auth/user/"),
])
def test_each_apps_own_page_still_lists_that_apps_models(staff_login, app_label, title, model_url):
    response = staff_login(staff_user(superuser=True)).get(f"/admin/{app_label}/")

    assert response.status_code == 200
    assert response.context["title"] == title
    assert [app["app_label"] for app in response.context["app_list"]] == [app_label]
    assert f'href="{model_url}"' in response.content.decode()
    page = response.content.decode()
    # Its own module links to the app's page; the sidebar shows the sections.
    assert f'<a href="/admin/{app_label}/" class="section"' in page
    assert 'id="nav-sidebar"' in page and '<span class="section">Payments</span>' in page
