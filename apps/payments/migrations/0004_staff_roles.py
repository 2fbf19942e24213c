"""Staff roles and payments: every role sees payments, attempts, captures and refunds (read-only
money rows); treasury operators may also ask a connector about an unresolved attempt now. The
roles themselves are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = [
    "payments.view_payment", "payments.view_paymentattempt", "payments.view_attemptneedingreview",
    "payments.view_capture", "payments.view_refund",
]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "payments.change_paymentattempt"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_janitor"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("payments", GRANTS)]
