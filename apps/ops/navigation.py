"""The admin's navigation, grouped by the work staff do rather than by Django app.

``SECTIONS`` is the one table: each section lists the models it holds, by model label, in the
order staff see them, with an optional plain name that replaces the model's own. A model is
placed by adding a row here. A registered model missing from the table is not lost: it is shown
under "Other" (and tests/ops/test_navigation.py fails, naming it, until it is given its place). A
section none of whose models the user may see, or that has none yet (Treasury), is left out.

The index (the dashboard) and the sidebar of every admin page both list these sections; the
per-app pages (``/admin/<app_label>/``) keep Django's grouping by app, which their breadcrumbs
link to.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Place:
    label: str  # the model's label, "payments.Payment"
    name: str = ""  # shown instead of the model's verbose_name_plural, if given


@dataclass(frozen=True)
class Section:
    key: str
    name: str
    places: tuple[Place, ...]


SECTIONS: tuple[Section, ...] = (
    Section("payments", "Payments", (
        Place("payments.Payment"),
        Place("payments.Refund"),
        Place("payments.Capture", "Captures and voids"),
        Place("payments.PaymentAttempt"),
        Place("payments.AttemptNeedingReview"),
        Place("routing.RoutingRule"),
        Place("routing.Connector"),
        Place("routing.SandboxOperation", "Sandbox operations (at the simulated connectors)"),
        Place("events.WebhookEndpoint"),
        Place("events.WebhookEvent"),
        Place("events.WebhookDelivery"),
    )),
    Section("ledger", "Ledger", (
        Place("ledger.Account"),
        Place("ledger.Transfer"),
        Place("ledger.Entry"),
        Place("ledger.Verification"),
    )),
    Section("merchants", "Merchants", (
        Place("merchants.Merchant"),
        Place("merchants.ApiKey"),
    )),
    # The officer's work first (alerts, cases), then what raises it (rules, lists), then maker-checker.
    Section("compliance", "Compliance", (
        Place("compliance.Alert"),
        Place("compliance.Case"),
        Place("compliance.MonitoringRule", "Monitoring rules"),
        Place("compliance.MonitoredEvent", "Monitored events (payments and transfers observed)"),
        Place("compliance.HighRiskJurisdiction", "High-risk jurisdictions (FATF lists)"),
        Place("compliance.MerchantProfile", "Merchant risk profiles"),
        Place("compliance.SanctionsList", "Sanctions lists"),
        Place("compliance.SanctionsListVersion", "Sanctions list versions (imports)"),
        Place("compliance.SanctionsEntry", "Sanctions list entries"),
        Place("compliance.ScreeningHit", "Sanctions hits (screening)"),
        Place("compliance.SanctionsRescreen", "Sanctions re-screens (progress)"),
        Place("compliance.SanctionsAllowListEntry", "Allow-list (cleared false positives)"),
        Place("compliance.ApprovalRequest", "Approval requests (maker-checker)"),
        Place("compliance.ApprovalPolicy"),
    )),
    # The business calendar, the prices and terms a business date is settled with, then the runs;
    # payouts and where they go.
    Section("settlement", "Settlement", (
        Place("settlement.BusinessCalendar", "Business calendars"),
        Place("settlement.Holiday"),
        Place("settlement.FeePlan", "Fee plans"),
        Place("settlement.FeePlanLine", "Fee plan lines (prices from a business date)"),
        Place("settlement.SettlementTerms", "Terms: reserve and payout minimum"),
        Place("settlement.MerchantFeePlan", "Merchants' fee plans"),
        Place("settlement.SettlementRun", "Settlement runs"),
        Place("settlement.SettlementLine", "Settlement lines (per merchant)"),
        Place("payments.Payout"),
        Place("payments.MerchantPayoutHold", "Merchant payout holds (compliance)"),
        Place("merchants.BankAccount", "Bank accounts (where payouts go)"),
        Place("settlement.PayoutFile", "Payout files (pain.001)"),
        Place("settlement.StatusReport", "Payment status reports (pain.002)"),
    )),
    Section("treasury", "Treasury", (
        Place("treasury.Position", "Positions and 7-day forecast"),
        Place("treasury.LiquidityAlert", "Low-liquidity alerts"),
        Place("treasury.NostroAccount", "Nostro accounts (fincore's bank accounts)"),
        Place("treasury.Sweep", "Sweeps between nostros (pain.001)"),
        Place("treasury.FxRate", "FX rates (upload, age, stale)"),
        Place("treasury.FxQuote", "FX quotes (merchants')"),
        Place("treasury.FxConversion", "FX conversions (merchants')"),
        Place("reconciliation.BankStatement", "Reconciliation: bank statements (camt.053/054, MT940, CSV)"),
        Place("reconciliation.CsvStatementMapping", "Reconciliation: CSV statement mappings (per bank)"),
        Place("reconciliation.Expectation", "Reconciliation: expectations (what the banks should show)"),
        Place("reconciliation.MatchingRule", "Reconciliation: matching rules"),
        Place("reconciliation.Break", "Reconciliation: breaks (the exception queue)"),
        Place("reconciliation.BalanceProof", "Reconciliation: balance proofs (the books against the bank)"),
    )),
    Section("operations", "Operations", (
        Place("events.OutboxMessage", "Outbox (messages to publish)"),
        Place("events.DeadLetter"),
        Place("django_celery_beat.PeriodicTask", "Scheduled jobs"),
        Place("django_celery_beat.IntervalSchedule", "Schedules: intervals"),
        Place("django_celery_beat.CrontabSchedule", "Schedules: crontabs"),
        Place("auth.User", "Staff users"),
        Place("auth.Group", "Roles"),
        Place("axes.AccessAttempt", "Login lockouts (failed attempts)"),
        Place("axes.AccessFailureLog", "Failed logins"),
        Place("axes.AccessLog", "Logins"),
    )),
    Section("audit", "Audit", (
        Place("audit.AuditEvent", "Journal (business events, hash-chained)"),
        Place("audit.AdminChange", "Admin change log (field by field, django-auditlog)"),
    )),
)

OTHER = Section("other", "Other", ())


def _places() -> dict[str, tuple[Section, int, Place]]:
    found: dict[str, tuple[Section, int, Place]] = {}
    for section in SECTIONS:
        for position, place in enumerate(section.places):
            found[place.label.lower()] = (section, position, place)
    return found


PLACES = _places()


def unplaced(labels: Iterable[str]) -> list[str]:
    """The model labels (of those given) the table has no row for, sorted."""
    return sorted(label for label in labels if label.lower() not in PLACES)


def sections(app_dicts: Iterable[Mapping[str, Any]], request_path: str = "") -> list[dict[str, Any]]:
    """Django's per-app lists (``AdminSite._build_app_dict``) regrouped into the sections, in the
    table's order, as the admin's templates read an app: name, app_label, app_url (empty: a section
    has no page of its own), models; plus ``current`` when ``request_path`` is one of its pages."""
    grouped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for app in app_dicts:
        for model_dict in app["models"]:
            label = model_dict["model"]._meta.label
            section, position, place = PLACES.get(label.lower(), (OTHER, 0, Place(label)))
            entry = {**model_dict, "name": place.name or model_dict["name"]}
            grouped.setdefault(section.key, []).append((position, entry))
    result = []
    for section in (*SECTIONS, OTHER):
        entries = grouped.get(section.key)
        if not entries:
            continue
        models = [entry for _, entry in sorted(entries, key=lambda item: (item[0], item[1]["name"]))]
        current = any(model.get("admin_url") and request_path.startswith(model["admin_url"]) for model in models)
        result.append({
            "name": section.name, "app_label": section.key, "app_url": "", "has_module_perms": True,
            "models": models, "current": current,
        })
    return result
