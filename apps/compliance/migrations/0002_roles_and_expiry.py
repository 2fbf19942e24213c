"""Who makes and who checks: compliance officers request freezes, merchant suspensions, key
revocations and policy changes; treasury operators request adjustments and connector changes;
compliance supervisors only approve or reject (a checker-only role); support sees requests and
policies. And the beat sweep that expires requests nobody approved in time."""

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.roles import role_permissions_grant

VIEWS = ["compliance.view_approvalrequest", "compliance.view_approval", "compliance.view_approvalpolicy"]
GRANTS = {
    "Compliance officer": [
        *VIEWS, "compliance.request_account_freeze", "compliance.request_merchant_status",
        "compliance.request_api_key_revoke", "compliance.request_policy_change",
    ],
    "Treasury operator": [*VIEWS, "compliance.request_adjustment", "compliance.request_connector_change"],
    "Compliance supervisor": [*VIEWS, "compliance.approve_approvalrequest"],
    "Support (read-only)": VIEWS,
}
TASKS = [
    dict(
        name="compliance: expire approval requests",
        task="compliance.expire_approval_requests",
        queue="compliance",
        every_seconds=300,
        description="Marks maker-checker requests nobody approved before their deadline expired.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0001_approvals"),
        ("ops", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [role_permissions_grant("compliance", GRANTS), install_periodic_tasks(TASKS)]
