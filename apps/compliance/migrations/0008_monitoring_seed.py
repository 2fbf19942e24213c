"""Monitoring's starting point: the default rules (in BHD; an officer changes them through
maker-checker), FATF's lists of high-risk jurisdictions as published in October 2025, who may
request rule, risk tier and jurisdiction changes, and the beat task tailing wallet transfers.

Default thresholds (minor units, 1 BHD = 1000 fils): BHD 6,000 is the large amount (CBB's cash
reporting threshold); structuring is three amounts within 10 % below it in a day.
"""

import datetime

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.countries import countries
from apps.core.roles import role_permissions_grant

SEEDED_BY = "fincore (seed)"
BHD = 1000

RULES = [
    dict(name="Large amount", kind="large_amount", severity="high",
         description="One payment, wallet transfer or payout of BHD 6,000 or more.",
         parameters={"BHD": {"amount": 6_000 * BHD}}),
    dict(name="Card velocity", kind="velocity", severity="medium",
         description="Ten or more payments with the same card within an hour.",
         parameters={"BHD": {"dimension": "card_fingerprint", "measure": "count", "threshold": 10,
                             "window_minutes": 60}}),
    dict(name="Wallet velocity", kind="velocity", severity="medium",
         description="Twenty or more payments or transfers from the same customer wallet within an hour.",
         parameters={"BHD": {"dimension": "wallet", "measure": "count", "threshold": 20, "window_minutes": 60}}),
    dict(name="IBAN velocity", kind="velocity", severity="medium",
         description="Five or more payments from the same IBAN within a day.",
         parameters={"BHD": {"dimension": "iban", "measure": "count", "threshold": 5, "window_minutes": 1440}}),
    dict(name="Merchant daily volume", kind="velocity", severity="medium",
         description="A merchant takes BHD 50,000 or more within a day.",
         parameters={"BHD": {"dimension": "merchant", "measure": "sum", "threshold": 50_000 * BHD,
                             "window_minutes": 1440}}),
    dict(name="Structuring below the large amount", kind="structuring", severity="high",
         description="Three or more amounts within 10 % below BHD 6,000 at one merchant within a day.",
         parameters={"BHD": {"amount": 6_000 * BHD, "below_percent": 10, "count": 3, "window_minutes": 1440,
                             "dimension": "merchant"}}),
    dict(name="High-risk jurisdiction", kind="high_risk_geography", severity="high",
         description="A payment from, or payout to, a country on FATF's lists (call for action, increased "
                     "monitoring).",
         parameters={"BHD": {"min_amount": 0, "lists": ["call_for_action", "increased_monitoring"]}}),
    dict(name="First large amount after onboarding", kind="first_large_after_onboarding", severity="medium",
         description="A merchant's first movement of BHD 3,000 or more within 30 days of its onboarding.",
         parameters={"BHD": {"amount": 3_000 * BHD, "days": 30}}),
    dict(name="Round amounts", kind="round_amount", severity="low",
         description="Three or more round amounts (multiples of BHD 1,000) at one merchant within a day.",
         parameters={"BHD": {"multiple": 1_000 * BHD, "min_amount": 1_000 * BHD, "count": 3,
                             "window_minutes": 1440}}),
    dict(name="Refund abuse", kind="refund_abuse", severity="medium",
         description="A merchant refunds 30 % or more of what it took in 30 days, in five refunds or more.",
         parameters={"BHD": {"ratio_percent": 30, "window_days": 30, "min_refunds": 5}}),
    dict(name="Sanctions list match", kind="sanctions_hit", severity="critical", action="hold",
         description="A merchant or payout beneficiary matches an entry of a sanctions list: the payout waits "
                     "for an officer.",
         parameters={}),
]

# FATF, "High-Risk Jurisdictions subject to a Call for Action" and "Jurisdictions under Increased
# Monitoring", both published on 24 October 2025 (plenary of October 2025).
FATF_PUBLISHED_ON = datetime.date(2025, 10, 24)
FATF_CALL_FOR_ACTION_SOURCE = ("FATF, High-Risk Jurisdictions subject to a Call for Action – October 2025, "
                               "https://www.fatf-gafi.org/en/publications/High-risk-and-other-monitored-jurisdictions/"
                               "Call-for-action-october-2025.html")
FATF_INCREASED_MONITORING_SOURCE = ("FATF, Jurisdictions under Increased Monitoring – October 2025, "
                                    "https://www.fatf-gafi.org/en/publications/High-risk-and-other-monitored-"
                                    "jurisdictions/increased-monitoring-october-2025.html")
CALL_FOR_ACTION = ["KP", "IR", "MM"]
INCREASED_MONITORING = ["DZ", "AO", "BO", "BG", "CM", "CI", "CD", "HT", "KE", "LA", "LB", "MC", "NA", "NP", "SS",
                        "SY", "VE", "VN", "VG", "YE"]

GRANTS = {
    "Compliance officer": [
        "compliance.request_monitoring_rule_change", "compliance.request_risk_tier_change",
        "compliance.request_jurisdiction_change", "compliance.view_monitoringrule",
        "compliance.view_merchantprofile", "compliance.view_highriskjurisdiction", "compliance.view_monitoredevent",
    ],
    "Compliance supervisor": [
        "compliance.view_monitoringrule", "compliance.view_merchantprofile", "compliance.view_highriskjurisdiction",
        "compliance.view_monitoredevent",
    ],
    "Support (read-only)": ["compliance.view_monitoringrule", "compliance.view_highriskjurisdiction"],
}

TASKS = [
    dict(
        name="compliance: monitor wallet transfers",
        task="compliance.monitor_wallet_transfers",
        queue="compliance",
        every_seconds=60,
        description="Evaluates the monitoring rules on the wallet transfers merchants made since the last run.",
    ),
]


def seed(apps, schema_editor):
    MonitoringRule = apps.get_model("compliance", "MonitoringRule")
    HighRiskJurisdiction = apps.get_model("compliance", "HighRiskJurisdiction")
    now = datetime.datetime.now(datetime.UTC)
    for rule in RULES:
        MonitoringRule.objects.get_or_create(name=rule["name"], defaults={
            **rule, "action": rule.get("action", "alert"), "updated_at": now, "updated_by": SEEDED_BY})
    names = countries()
    for codes, listed, source in ((CALL_FOR_ACTION, "call_for_action", FATF_CALL_FOR_ACTION_SOURCE),
                                  (INCREASED_MONITORING, "increased_monitoring", FATF_INCREASED_MONITORING_SOURCE)):
        for code in codes:
            HighRiskJurisdiction.objects.get_or_create(country=code, defaults={
                "name": names[code], "list": listed, "published_on": FATF_PUBLISHED_ON, "source": source,
                "updated_at": now, "updated_by": SEEDED_BY})


def unseed(apps, schema_editor):
    apps.get_model("compliance", "MonitoringRule").objects.filter(updated_by=SEEDED_BY).delete()
    apps.get_model("compliance", "HighRiskJurisdiction").objects.filter(updated_by=SEEDED_BY).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0007_monitoring"),
        ("ops", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
        role_permissions_grant("compliance", GRANTS),
        install_periodic_tasks(TASKS),
    ]
