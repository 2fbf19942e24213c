"""The default fee plan and terms for BHD, and who may see and request changes to prices."""

from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import migrations

from apps.core.roles import role_permissions_grant

SEEDED_AT = datetime(2024, 1, 1, tzinfo=UTC)
SEEDED_BY = "migration settlement 0005"
FROM = date(2024, 1, 1)
# The default price list in BHD (fils): card 2.5 % + 0.100 (at least 0.250), the instant local rail
# 1 % + 0.050, a wire 1.000 flat, a wallet 0.5 %.
BHD_LINES = [
    ("card", Decimal("2.5"), 100, 250, None),
    ("instant", Decimal("1"), 50, None, None),
    ("wire", Decimal("0"), 1000, None, None),
    ("wallet", Decimal("0.5"), 0, None, None),
]


def seed(apps, schema_editor):
    FeePlan = apps.get_model("settlement", "FeePlan")
    FeePlanLine = apps.get_model("settlement", "FeePlanLine")
    SettlementTerms = apps.get_model("settlement", "SettlementTerms")
    plan = FeePlan.objects.create(code="default", name="Default", is_default=True, created_at=SEEDED_AT,
                                  created_by=SEEDED_BY)
    for method, percent, fixed, minimum, maximum in BHD_LINES:
        FeePlanLine.objects.create(plan=plan, method=method, currency="BHD", percent=percent, fixed=fixed,
                                   minimum=minimum, maximum=maximum, effective_from=FROM, created_at=SEEDED_AT,
                                   created_by=SEEDED_BY)
    # No reserve by default; balances below 5.000 BHD wait for the next business date.
    SettlementTerms.objects.create(currency="BHD", reserve_percent=0, reserve_days=0, payout_minimum=5000,
                                   effective_from=FROM, created_at=SEEDED_AT, created_by=SEEDED_BY)


def unseed(apps, schema_editor):
    apps.get_model("settlement", "SettlementTerms").objects.filter(created_by=SEEDED_BY).delete()
    apps.get_model("settlement", "FeePlanLine").objects.filter(created_by=SEEDED_BY).delete()
    apps.get_model("settlement", "FeePlan").objects.filter(created_by=SEEDED_BY).delete()


VIEWS = ["settlement.view_feeplan", "settlement.view_feeplanline", "settlement.view_merchantfeeplan",
         "settlement.view_settlementterms", "settlement.view_settlementrun", "settlement.view_settlementline"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "settlement.request_fee_change", "settlement.resume_settlementrun"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("settlement", "0004_fee_plans_and_runs"), ("core", "0003_money_round")]

    operations = [
        migrations.RunPython(seed, unseed),
        role_permissions_grant("settlement", GRANTS),
    ]
