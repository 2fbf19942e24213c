"""The role matrix: every admin screen, walked as every role, against what each role may do.

``MATRIX`` is the README's "Staff roles" table as data: for each registered model, what each role
may do on its screens. ``view`` opens the list, an object's page and its history; ``add`` the add
page; ``change`` saves an object's page; any other word is an admin action (run as far as its
confirmation page, never applied) or a page of the screen's own (``get_urls``) by its URL name.
Every list exports as CSV exactly what its reader may view (checked with ``view``). A role not named
for a model may do nothing there; nobody deletes anything. A registered model
missing from the matrix fails the test: every new screen is given its row.
"""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apps.compliance import services as compliance_services
from apps.compliance.alerts.services import alert_raise
from apps.compliance.cases import services as case_services
from apps.compliance.data import ACCOUNT_FREEZE, Observation, ObservationKind, Subject, SubjectType
from apps.compliance.models import ApprovalPolicy, CaseAttachment, MonitoringRule, StrReport
from apps.compliance.monitoring.services import observation_record
from apps.compliance.profiles import merchant_profile_sync
from apps.compliance.sanctions import imports as sanctions_imports
from apps.compliance.sanctions import screening as sanctions_screening
from apps.compliance.sanctions.allow_list import sanctions_allow_list_add
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox.models import DeadLetter
from apps.ledger import services as ledger_services
from apps.payments import services as payment_services
from apps.reconciliation.models import BankStatement, BankStatementLine, CsvStatementMapping, Expectation
from apps.reconciliation.services.breaks import breaks_sync
from apps.reconciliation.services.proof import balance_prove
from apps.routing import selectors as routing_selectors
from apps.settlement import selectors as settlement_selectors
from apps.settlement import services as settlement_services
from apps.settlement.models import PayoutFile, StatusReport
from apps.treasury.models import LiquidityAlert, NostroAccount, Sweep
from apps.treasury.services import fx as fx_services
from tests.events.webhooks.helpers import emit, endpoint_create
from tests.factories import ledger as ledger_factories
from tests.factories import payouts as payout_factories
from tests.factories.merchants import FACTORY_ACTOR
from tests.factories.settlement import settled_day
from tests.factories.staff import OFFICER as OFFICER_ROLE
from tests.factories.staff import signed_in_client, staff_user
from tests.payments.conftest import UNKNOWN, processed, routing  # noqa: F401 - routing is a fixture
from tests.treasury import fx_helpers

pytestmark = pytest.mark.django_db

SUPERUSER = "Superuser"
OFFICER = "Compliance officer"
SUPERVISOR = "Compliance supervisor"
TREASURY = "Treasury operator"
SUPPORT = "Support (read-only)"
NO_ROLE = "Staff without a role"
ROLES = (SUPERUSER, OFFICER, SUPERVISOR, TREASURY, SUPPORT, NO_ROLE)
EVERY_ROLE = (SUPERUSER, OFFICER, SUPERVISOR, TREASURY, SUPPORT)



def _every(capabilities: str = "view") -> dict[str, str]:
    return dict.fromkeys(EVERY_ROLE, capabilities)


_COMPLIANCE_READERS = {SUPERUSER: "view", OFFICER: "view", SUPERVISOR: "view", SUPPORT: "view"}

MATRIX: dict[str, dict[str, str]] = {
    # Money and its records: everyone reads them, nobody edits them by hand.
    "ledger.Account": _every(),
    "ledger.Transfer": _every(),
    "ledger.Entry": _every(),
    "ledger.Verification": _every(),
    "payments.Payment": _every(),
    "payments.Refund": _every(),
    "payments.Capture": _every(),
    "payments.PaymentAttempt": {**_every(), SUPERUSER: "view inquire resolve_declined review_close",
                                TREASURY: "view inquire resolve_declined review_close"},
    "payments.AttemptNeedingReview": {**_every(), SUPERUSER: "view inquire resolve_declined review_close",
                                      TREASURY: "view inquire resolve_declined review_close"},
    # Merchants: compliance edits, suspends and reactivates them and revokes keys; supervisors issue keys.
    # Suspending, reactivating and revoking are requests a supervisor approves (maker-checker).
    "merchants.Merchant": {**_every(), SUPERUSER: "view add change suspend activate issue_key",
                           OFFICER: "view change suspend activate",
                           SUPERVISOR: "view change issue_key"},
    "merchants.ApiKey": {SUPERUSER: "view revoke", OFFICER: "view revoke", SUPERVISOR: "view", SUPPORT: "view"},
    # Routing: treasury runs connectors and rules; everyone may ask where a payment would go.
    "routing.Connector": {**_every(), SUPERUSER: "view add change reset_breaker request_disabling request_enabling",
                          TREASURY: "view change reset_breaker request_disabling request_enabling"},
    "routing.RoutingRule": {**_every("view dry_run"), SUPERUSER: "view add change dry_run",
                            TREASURY: "view add change dry_run"},
    "routing.SandboxOperation": _every(),
    # The business calendar: everyone reads it; treasury, who owns it, requests holiday changes.
    "settlement.BusinessCalendar": _every(),
    "settlement.Holiday": {**_every(), SUPERUSER: "view request_change", TREASURY: "view request_change"},
    # Fincore's bank accounts: a superuser records them (never deleted: payouts and statements name them).
    "treasury.NostroAccount": {**_every(), SUPERUSER: "view add change", TREASURY: "view change"},
    # Sweeps between nostros: everyone reads them (and downloads their pain.001); treasury requests
    # them (a supervisor approves those above the policy's threshold).
    "treasury.Sweep": {**_every("view download"), SUPERUSER: "view download request",
                       TREASURY: "view download request"},
    # Positions: everyone reads them; treasury acknowledges low-liquidity alerts (the check raises
    # and clears them) and sets a nostro's threshold (above).
    "treasury.Position": _every(),
    "treasury.LiquidityAlert": {**_every(), SUPERUSER: "view acknowledge", TREASURY: "view acknowledge"},
    # FX: everyone reads rates, quotes and conversions; treasury uploads rates (never changed by hand).
    "treasury.FxRate": {**_every(), SUPERUSER: "view import", TREASURY: "view import"},
    "treasury.FxQuote": _every(),
    "treasury.FxConversion": _every(),
    # Payouts: everyone reads them; treasury requests releasing a large one (a supervisor approves).
    # Bank accounts: compliance officers request setting or changing one (a supervisor approves).
    "payments.Payout": {**_every(), SUPERUSER: "view request_release", TREASURY: "view request_release"},
    # Holds on a merchant's payouts: placed and lifted by maker-checker requests (from a case).
    "payments.MerchantPayoutHold": _every(),
    "merchants.BankAccount": {**_every(), SUPERUSER: "view request_change", OFFICER: "view request_change"},
    # Prices, terms and runs: everyone reads them; treasury requests price and terms changes (a
    # supervisor approves them) and resumes a failed run.
    "settlement.FeePlan": {**_every(), SUPERUSER: "view request_create", TREASURY: "view request_create"},
    "settlement.FeePlanLine": {**_every(), SUPERUSER: "view request_change", TREASURY: "view request_change"},
    "settlement.MerchantFeePlan": {**_every(), SUPERUSER: "view request_change", TREASURY: "view request_change"},
    "settlement.SettlementTerms": {**_every(), SUPERUSER: "view request_change", TREASURY: "view request_change"},
    "settlement.SettlementRun": {**_every(), SUPERUSER: "view resume", TREASURY: "view resume"},
    "settlement.SettlementLine": _every(),
    # Payout files: everyone reads them (and downloads their XML); treasury imports the bank's reports.
    "settlement.PayoutFile": _every("view download"),
    "settlement.StatusReport": {**_every(), SUPERUSER: "view import", TREASURY: "view import"},
    # Bank statements: everyone reads them; treasury imports them.
    "reconciliation.BankStatement": {**_every(), SUPERUSER: "view import", TREASURY: "view import"},
    # CSV statement mappings: everyone reads them; treasury keeps them (with a reason).
    "reconciliation.CsvStatementMapping": {**_every(), SUPERUSER: "view add change", TREASURY: "view add change"},
    # Expectations: everyone reads them; treasury declares one by hand.
    "reconciliation.Expectation": {**_every(), SUPERUSER: "view declare", TREASURY: "view declare"},
    # Matching rules: everyone reads them and dry-runs one (nothing is written); treasury requests a
    # new rule or a change (a supervisor approves).
    "reconciliation.MatchingRule": {**_every("view dry_run"), SUPERUSER: "view dry_run request",
                                    TREASURY: "view dry_run request"},
    # Breaks: everyone reads the exception queue; treasury works it (an adjustment is a request).
    "reconciliation.Break": {**_every(), SUPERUSER: "view work", TREASURY: "view work"},
    "reconciliation.BalanceProof": _every(),
    # Messages: treasury replays dead letters and acts on webhooks.
    "events.DeadLetter": {**_every(), SUPERUSER: "view replay discard", TREASURY: "view replay discard"},
    "events.OutboxMessage": {SUPERUSER: "view", SUPERVISOR: "view", TREASURY: "view", SUPPORT: "view"},
    "events.WebhookEndpoint": {**_every(), SUPERUSER: "view enable_endpoint disable_endpoint",
                               TREASURY: "view enable_endpoint disable_endpoint"},
    "events.WebhookEvent": {**_every(), SUPERUSER: "view redeliver_event", TREASURY: "view redeliver_event"},
    "events.WebhookDelivery": {**_every(), SUPERUSER: "view redeliver_delivery",
                               TREASURY: "view redeliver_delivery"},
    # Maker-checker: makers request (officers: freezes, merchants, keys, policies; treasury:
    # adjustments, connectors), only supervisors (and superusers) approve or reject, all see.
    "compliance.ApprovalRequest": {
        **_every("view mine"),
        SUPERUSER: "view mine new adjustment approve reject",
        OFFICER: "view mine new",
        SUPERVISOR: "view mine approve reject",
        TREASURY: "view mine adjustment",
    },
    "compliance.ApprovalPolicy": {**_every(), SUPERUSER: "view request_change", OFFICER: "view request_change"},
    # Alerts and cases: officers work cases (assign, note, attach, status, close, holds, requests);
    # supervisors read them with the officers' notes, attachments and STRs (they approve what a case
    # asks for); support sees cases and alerts only; treasury has no part in investigations.
    "compliance.Alert": _COMPLIANCE_READERS,
    "compliance.Case": {**_COMPLIANCE_READERS, SUPERUSER: "view work str attachment",
                        OFFICER: "view work str attachment", SUPERVISOR: "view str attachment"},
    # Monitoring: officers request rule (with its backtest), risk tier and jurisdiction changes (a
    # supervisor approves); supervisors read; support reads the rules and FATF's lists, not the
    # merchants' risk tiers nor the movements recorded; treasury none.
    "compliance.MonitoringRule": {**_COMPLIANCE_READERS, SUPERUSER: "view request", OFFICER: "view request"},
    "compliance.HighRiskJurisdiction": {**_COMPLIANCE_READERS, SUPERUSER: "view request", OFFICER: "view request"},
    "compliance.MerchantProfile": {SUPERUSER: "view request", OFFICER: "view request", SUPERVISOR: "view"},
    "compliance.MonitoredEvent": {SUPERUSER: "view", OFFICER: "view", SUPERVISOR: "view"},
    # Sanctions screening: officers import list versions and ask for hits to be cleared (a supervisor
    # approves); supervisors and support read; treasury has no part in it.
    "compliance.SanctionsList": _COMPLIANCE_READERS,
    "compliance.SanctionsListVersion": {**_COMPLIANCE_READERS, SUPERUSER: "view import", OFFICER: "view import"},
    "compliance.SanctionsEntry": _COMPLIANCE_READERS,
    "compliance.ScreeningHit": {**_COMPLIANCE_READERS, SUPERUSER: "view allow_list", OFFICER: "view allow_list"},
    "compliance.SanctionsAllowListEntry": _COMPLIANCE_READERS,
    "compliance.SanctionsRescreen": _COMPLIANCE_READERS,
    # The audit trail: read by all but treasury's field-by-field history.
    "audit.AuditEvent": _every(),
    "audit.AdminChange": {SUPERUSER: "view", OFFICER: "view", SUPERVISOR: "view", SUPPORT: "view"},
    # Staff, roles and their sign-in: only superusers manage them; supervisors see them and unlock.
    "auth.User": {SUPERUSER: "view add change password_change two_factor_reset", SUPERVISOR: "view"},
    "auth.Group": {SUPERUSER: "view add change", SUPERVISOR: "view"},
    "axes.AccessAttempt": {SUPERUSER: "view lock_release", SUPERVISOR: "view lock_release"},
    "axes.AccessFailureLog": {SUPERUSER: "view", SUPERVISOR: "view"},
    "axes.AccessLog": {SUPERUSER: "view", SUPERVISOR: "view"},
    # Schedules: superusers change them; treasury and support see the periodic tasks.
    "django_celery_beat.PeriodicTask": {SUPERUSER: "view add change", TREASURY: "view", SUPPORT: "view"},
    "django_celery_beat.IntervalSchedule": {SUPERUSER: "view add change"},
    "django_celery_beat.CrontabSchedule": {SUPERUSER: "view add change"},
}
# Pages of a screen's own that only read (support may open them).
READ_ONLY_PAGES = {"dry_run", "mine", "download", "str", "attachment"}


def _expected(label: str, role: str) -> set[str]:
    return set(MATRIX[label].get(role, "").split())


# --- a world with one real object behind every screen -------------------------------------------


@pytest.fixture
def world(merchant, routing):  # noqa: F811 - the routing fixture
    routing["alpha"].answer("authorize", UNKNOWN)
    routing["alpha"].answer("inquire", UNKNOWN)
    unresolved = processed(merchant)
    paid = processed(merchant)
    held = processed(merchant, capture_method="manual")
    payment_services.payment_capture(payment_id=held.pk, actor=FACTORY_ACTOR)
    payment_services.payment_refund(payment_id=paid.pk, amount=100, reason="goodwill", actor=FACTORY_ACTOR)
    with time_machine.travel(clock.now() + timedelta(days=3, minutes=1), tick=False):
        payment_services.payments_janitor()
    assert unresolved.attempts.exists()
    wallet = ledger_factories.wallet()
    ledger_factories.fund(wallet, 12500)
    ledger_services.ledger_check(actor=Actor.system("tests.role_matrix"))
    now = clock.now()
    DeadLetter.objects.create(
        queue="ledger", message_id="0190b4b2-0000-7000-8000-000000000001", task_name="ledger.expire_pending",
        kwargs={}, priority=5, headers={}, death_reason="rejected", failure="ValueError", dead_lettered_at=now,
        collected_at=now,
    )
    endpoint_create(merchant)
    emit(merchant)
    routing_selectors.connector_adapter("wallet").authorize(
        idempotency_key="k", payment_id=unresolved.pk, amount=5, currency="BHD", payment_method={"type": "wallet"},
        capture=True,
    )
    compliance_services.approval_request_create(
        action=ACCOUNT_FREEZE, arguments={"account_id": str(wallet.pk)}, user=staff_user(OFFICER_ROLE),
        reason="the role matrix",
    )
    ApprovalPolicy.objects.create(action=ACCOUNT_FREEZE, updated_at=now, updated_by="tests")
    AccessAttempt.objects.create(username="amina", ip_address="10.0.0.1", user_agent="browser", get_data="",
                                 post_data="", http_accept="*/*", path_info="/admin/login/", failures_since_start=5,
                                 attempt_time=now)
    AccessFailureLog.objects.create(username="amina", ip_address="10.0.0.1", user_agent="browser",
                                    http_accept="*/*", path_info="/admin/login/", attempt_time=now, locked_out=True)
    AccessLog.objects.create(username="sara", ip_address="10.0.0.2", user_agent="browser", http_accept="*/*",
                             path_info="/admin/login/code/", attempt_time=now)
    # A settled business date (its run and line), and the merchant put on a plan of its own.
    settled_day(merchant)
    settlement_services.fee_plan_create(code="role-matrix", name="Role matrix", actor=FACTORY_ACTOR,
                                        reason="the role matrix")
    settlement_services.merchant_fee_plan_set(merchant_id=str(merchant.pk), plan="role-matrix",
                                              effective_from=settlement_selectors.business_date(currency="BHD"),
                                              actor=FACTORY_ACTOR, reason="the role matrix")
    payout_factories.payout(payout_factories.funded_merchant(), 12_500)  # and its bank account
    payment_services.merchant_payouts_hold(merchant_id=str(merchant.pk), actor=FACTORY_ACTOR, reason="the role matrix")
    payout_factories.payout_nostro()
    payout_file = PayoutFile.objects.create(
        message_id="pf_role_matrix", currency="BHD", nostro="nbb-bhd-01", requested_execution_date=now.date(),
        payouts=1, control_sum=12_500, document=b"<Document/>", sha256="0" * 64, created_at=now, created_by="tests")
    StatusReport.objects.create(message_id="NBB-STS-1", payout_file=payout_file, group_status="ACSC",
                                sha256="1" * 64, document=b"<Document/>", paid=1, imported_at=now,
                                imported_by="tests")
    LiquidityAlert.objects.create(nostro=NostroAccount.objects.get(code="nbb-bhd-01"), currency="BHD",
                                  forecast_date=now.date(), forecast_balance=1_000, threshold=5_000, raised_at=now)
    statement = BankStatement.objects.create(
        nostro=NostroAccount.objects.get(code="nbb-bhd-01"), format="camt.053", version="001.08",
        statement_id="NBB-STMT-1", sequence="1", account="BH96NBOB00000099887766", currency="BHD",
        opening_balance=0, opening_date=now.date(), closing_balance=12_500, closing_date=now.date(),
        file_name="nbb.xml", sha256="2" * 64, content=b"<Document/>", imported_at=now, imported_by="tests")
    BankStatementLine.objects.create(statement=statement, position=1, amount=12_500, currency="BHD",
                                     booking_date=now.date(), reference="the role matrix")
    NostroAccount.objects.create(code="bbk-bhd-01", currency="BHD", bank_name="Bank of Bahrain and Kuwait",
                                 bic="BBKUBHBM", iban="BH27BBKU00100000123456", account_name="Fincore B.S.C.")
    Sweep.objects.create(currency="BHD", from_nostro_id="nbb-bhd-01", to_nostro_id="bbk-bhd-01", amount=12_500,
                         execution_date=now.date(), end_to_end_id="SWROLEMATRIX", status="sent", requested_by="tests",
                         reason="the role matrix", file=b"<Document/>", file_sha256="3" * 64,
                         transfer_id="0190b4b2-0000-7000-8000-000000000002", created_at=now, sent_at=now)
    # A USD/BHD rate, a merchant's quote on it and the conversion that executed it.
    fx_helpers.rate("USD", "BHD", "0.376", "0.0025")
    fx_actor = fx_helpers.key_actor(merchant.pk)
    usd = fx_helpers.funded_wallet(merchant.pk, "USD", 15_000)
    bhd = fx_helpers.funded_wallet(merchant.pk, "BHD", 0)
    quote = fx_services.fx_quote_create(actor=fx_actor, sell_currency="USD", buy_currency="BHD", sell_amount=10_000)
    fx_services.fx_conversion_create(actor=fx_actor, quote_id=quote.pk, sell_account_id=usd.pk, buy_account_id=bhd.pk)
    CsvStatementMapping.objects.create(name="NBB CSV", nostro_id="nbb-bhd-01", booking_date="Date", amount="Amount",
                                       currency="BHD")
    Expectation.objects.create(
        nostro_id="nbb-bhd-01", currency="BHD", amount=12_500, expected_date=now.date(), source="staff",
        source_id="role-matrix", missing_after=now + timedelta(days=3), created_at=now, created_by="tests")
    # The line nothing matched is a break, and the statement is proven (it differs: the books are empty).
    breaks_sync()
    balance_prove(statement_id=statement.pk)
    # A version of the national list, the merchant's hit on it, that hit cleared, and the re-screen.
    sanctions_imports.sanctions_list_import(
        source="local", file_name="local.csv", actor=FACTORY_ACTOR,
        content=b"reference,type,name,aliases,date_of_birth,nationality,passport,registration_number\n"
                b"BH-1,entity,Role Matrix Trading,,,,,\n")
    merchant_profile_sync(merchant_id=merchant.pk, legal_name="Role Matrix Trading W.L.L.", country="BH",
                          onboarded_at=now)
    [hit] = sanctions_screening.merchant_screen(merchant_id=merchant.pk)
    sanctions_allow_list_add(hit_id=str(hit.pk), expires_on=(now + timedelta(days=30)).date().isoformat(),
                             actor=FACTORY_ACTOR, reason="the role matrix")
    # A payment as monitoring recorded it and a rule's alert on it, in the merchant's case; and a
    # wallet's case, worked and closed as STR filed with a document attached (the case's download
    # pages serve that STR and that document).
    rule = MonitoringRule.objects.create(name="Role matrix large amount", kind="large_amount", severity="high",
                                         parameters={"BHD": {"amount": 1000}}, updated_at=now, updated_by="tests")
    recorded = observation_record(observation=Observation(
        source="payments.payment", source_id=str(paid.pk), kind=ObservationKind.PAYMENT, merchant_id=merchant.pk,
        livemode=paid.livemode, amount=paid.amount, currency=paid.currency, occurred_at=paid.created_at))
    alert_raise(rule=rule, subject=Subject(SubjectType.MERCHANT, str(merchant.pk), "Role Matrix Trading W.L.L.",
                                           merchant.pk),
                event_key=f"payments.payment:{paid.pk}", evidence={"found": {"amount": recorded.amount}},
                livemode=recorded.livemode)
    officer = staff_user(OFFICER_ROLE)
    filed = alert_raise(rule=rule, subject=Subject(SubjectType.WALLET, str(wallet.pk), "Role matrix wallet"),
                        event_key="tests.role_matrix:wallet", evidence={}, livemode=False).case
    case_services.case_attachment_add(case_id=filed.pk, user=officer, filename="statement.pdf",
                                      content_type="application/pdf", content=b"%PDF-1.4 the role matrix")
    case_services.case_status_change(case_id=filed.pk, user=officer, status="investigating",
                                     reason="the role matrix")
    case_services.case_close(case_id=filed.pk, user=officer, disposition="str_filed", reason="the role matrix")


def _client(role: str) -> Client:
    if role == SUPERUSER:
        return signed_in_client(staff_user(superuser=True))
    if role == NO_ROLE:
        return signed_in_client(staff_user())
    return signed_in_client(staff_user(role))


# --- walking one screen -------------------------------------------------------------------------

_STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def _own_pages(model_admin: admin.ModelAdmin) -> list:
    opts = model_admin.model._meta
    standard = {f"{opts.app_label}_{opts.model_name}_{view}" for view in _STANDARD_VIEWS}
    return [pattern for pattern in model_admin.get_urls() if pattern.name and pattern.name not in standard]


def _a_real_object(model_admin: admin.ModelAdmin, superuser_client: Client):
    request = superuser_client.get(reverse(f"admin:{_url_base(model_admin)}_changelist")).wsgi_request
    found = model_admin.get_queryset(request).order_by("pk").first()
    assert found is not None, f"the role matrix has no {model_admin.model._meta.label} to open: add one to world()"
    return found


def _url_base(model_admin: admin.ModelAdmin) -> str:
    return f"{model_admin.model._meta.app_label}_{model_admin.model._meta.model_name}"


def _own_page_url(pattern, obj) -> str:
    """The page's URL for ``obj``; a page about something else than the screen's objects (asking
    for a new maker-checker request names the action and its target; a case's STR and its
    attachments are of the case world() closed as STR filed) is given those, and a page doing one
    piece of work (a case's) the step it does."""
    if pattern.name == "compliance_approvalrequest_new":
        wallet = ledger_factories.wallet()
        return reverse(f"admin:{pattern.name}", args=[ACCOUNT_FREEZE]) + f"?account_id={wallet.pk}"
    if pattern.name == "compliance_case_work":
        return reverse(f"admin:{pattern.name}", args=[obj.pk, "note"])
    if pattern.name == "reconciliation_break_work":
        return reverse(f"admin:{pattern.name}", args=[obj.pk, "comment"])
    if pattern.name == "compliance_case_str":
        return reverse(f"admin:{pattern.name}", args=[StrReport.objects.get().case_id])
    if pattern.name == "compliance_case_attachment":
        attachment = CaseAttachment.objects.get()
        return reverse(f"admin:{pattern.name}", args=[attachment.case_id, attachment.pk])
    return reverse(f"admin:{pattern.name}", kwargs={key: obj.pk for key in pattern.pattern.converters})


# Pages only ever posted to from an object's page (a GET finds no page there): the walker posts an
# empty form instead. A role that may not use the page is refused (403); one that may is sent back
# to the object's page with why the empty form did nothing (a note without words adds nothing).
_POSTED_PAGES = {"compliance_case_work", "reconciliation_break_work"}


def _refused(response) -> bool:
    return response.status_code == 403


def _walk(client: Client, model_admin: admin.ModelAdmin, obj) -> tuple[set[str], list[str]]:
    """What ``client`` may do on this screen, and every answer that is neither allowed nor refused."""
    base, allowed, strange = _url_base(model_admin), set(), []

    def answered(what: str, response, ok=(200,)) -> bool:
        if response.status_code in ok:
            return True
        if not _refused(response):
            strange.append(f"{what}: {response.status_code}")
        return False

    changelist = reverse(f"admin:{base}_changelist")
    change = reverse(f"admin:{base}_change", args=[obj.pk])
    listed = answered("list", client.get(changelist))
    page = client.get(change)
    opened = answered("page", page)
    history = answered("history", client.get(reverse(f"admin:{base}_history", args=[obj.pk])))
    if listed and opened and history:
        allowed.add("view")
    elif listed or opened or history:
        strange.append(f"view: list {listed}, page {opened}, history {history}")
    if answered("add", client.get(reverse(f"admin:{base}_add"))):
        allowed.add("add")
    may_save = opened and page.context["has_change_permission"]
    saved = client.post(change, {})  # an empty form: refused, or answered with its errors
    if may_save:
        allowed.add("change")
        if saved.status_code != 200:
            strange.append(f"change: saving answers {saved.status_code}")
    elif not _refused(saved):
        strange.append(f"change: a role that may not change saves with {saved.status_code}")
    deleted = client.post(reverse(f"admin:{base}_delete", args=[obj.pk]), {"post": "yes"})
    if not _refused(deleted):
        strange.append(f"delete answers {deleted.status_code}")
    for name in model_admin._get_base_actions():
        action = name[1]
        confirm = client.post(changelist, {"action": action, "_selected_action": [obj.pk]})
        if confirm.status_code == 200 and "cl" not in (confirm.context or {}):
            allowed.add(action)
    for pattern in _own_pages(model_admin):
        if pattern.name == f"{base}_export_csv":
            # Every list exports what its reader sees: part of "view", and only of it.
            exported = answered("export", client.get(reverse(f"admin:{pattern.name}")))
            if exported != listed:
                strange.append(f"export: {exported}, while the list: {listed}")
            continue
        url = _own_page_url(pattern, obj)
        # A page may be a short way to a filtered list ("My approvals"): where it leads counts.
        response = client.post(url, {}, follow=True) if pattern.name in _POSTED_PAGES \
            else client.get(url, follow=True)
        if any("/login/" in hop for hop, _ in response.redirect_chain):
            strange.append(f"{pattern.name}: sends a signed-in user to the login page")
        elif answered(pattern.name, response):
            allowed.add(pattern.name.removeprefix(f"{base}_"))
    return allowed, strange


def test_support_changes_nothing():
    for label in MATRIX:
        assert _expected(label, SUPPORT) <= {"view", *READ_ONLY_PAGES}, label
        assert _expected(label, NO_ROLE) == set(), label


def test_only_superusers_manage_users_and_roles():
    for label in ("auth.User", "auth.Group"):
        for role in ROLES:
            if role != SUPERUSER:
                assert _expected(label, role) <= {"view"}, (label, role)


def test_only_supervisors_approve():
    for label, row in MATRIX.items():
        for role, capabilities in row.items():
            if any(capability.startswith("approve") for capability in capabilities.split()):
                assert role in (SUPERVISOR, SUPERUSER), (label, role)


def test_every_registered_screen_has_a_row():
    registered = {model._meta.label for model in admin.site._registry}
    assert sorted(registered - set(MATRIX)) == [], "give each new admin screen its row in MATRIX (and the README)"
    assert sorted(set(MATRIX) - registered) == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_what_the_matrix_says(role, world):
    superuser = _client(SUPERUSER) if role != SUPERUSER else None
    client = _client(role)
    mismatches = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if label not in MATRIX:
            continue
        obj = _a_real_object(model_admin, superuser or client)
        allowed, strange = _walk(client, model_admin, obj)
        expected = _expected(label, role)
        if allowed != expected or strange:
            mismatches[label] = {"allowed": " ".join(sorted(allowed)), "expected": " ".join(sorted(expected)),
                                 "strange": strange}
    assert mismatches == {}
