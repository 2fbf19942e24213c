"""Holds on merchants' payouts: every role sees them; compliance officers request placing or lifting
one (from a case; another officer or a supervisor approves). The roles are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["payments.view_merchantpayouthold"]
GRANTS = {
    "Compliance officer": [*VIEWS, "payments.request_merchant_payouts_hold"],
    "Compliance supervisor": VIEWS,
    "Treasury operator": VIEWS,
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("payments", "0012_review_holds"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("payments", GRANTS)]
