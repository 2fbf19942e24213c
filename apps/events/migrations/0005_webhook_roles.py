"""Staff roles and webhooks: every role sees endpoints, events, deliveries and their attempts
(a merchant asking "did you send it?" is answered from there); treasury operators, who already
replay dead letters, may also re-enable or disable an endpoint and redeliver. The roles
themselves are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = [
    "events.view_webhookendpoint", "events.view_webhookevent", "events.view_webhookdelivery",
    "events.view_webhookdeliveryattempt",
]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "events.change_webhookendpoint", "events.change_webhookdelivery"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("events", "0004_webhook_periodic_tasks"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("events", GRANTS)]
