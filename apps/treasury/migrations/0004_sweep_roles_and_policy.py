"""Everyone on staff sees sweeps; treasury operators request them. A sweep above 10,000.000 BHD
needs a compliance supervisor's approval (the ``treasury.sweep`` policy, changed later through
Compliance → Approval policies); one of that amount or less is sent at once. Other currencies
have no policy until one is set: every sweep in them needs a checker."""

from datetime import UTC, datetime

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["treasury.view_sweep"]
GRANTS = {"Compliance officer": VIEWS, "Compliance supervisor": VIEWS,
          "Treasury operator": [*VIEWS, "treasury.request_sweep"], "Support (read-only)": VIEWS}
BHD_THRESHOLD = 10_000_000  # 10,000.000 BHD in fils


def policy_seed(apps, schema_editor):
    ApprovalPolicy = apps.get_model("compliance", "ApprovalPolicy")
    ApprovalPolicy.objects.get_or_create(action="treasury.sweep", currency="BHD", defaults={
        "requires_approval": True, "threshold": BHD_THRESHOLD, "approvals_required": 1, "expires_after_hours": 72,
        "updated_at": datetime(2026, 12, 1, tzinfo=UTC), "updated_by": "migration treasury 0004"})


def policy_remove(apps, schema_editor):
    apps.get_model("compliance", "ApprovalPolicy").objects.filter(action="treasury.sweep", currency="BHD").delete()


class Migration(migrations.Migration):
    dependencies = [("treasury", "0003_sweeps"), ("ops", "0001_staff_roles"),
                    ("compliance", "0010_sanctions_lists_and_roles")]

    operations = [role_permissions_grant("treasury", GRANTS), migrations.RunPython(policy_seed, policy_remove)]
