"""Who works cases: compliance officers work them and see alerts and cases; supervisors and support
see them. And the beat sweep declining holds nobody reviewed in time (a rule's default is decline)."""

from django.db import migrations

from apps.core.beat import install_periodic_tasks
from apps.core.roles import role_permissions_grant

VIEWS = ["compliance.view_alert", "compliance.view_case", "compliance.view_casenote",
         "compliance.view_caseattachment", "compliance.view_strreport"]
GRANTS = {
    "Compliance officer": [*VIEWS, "compliance.work_case"],
    "Compliance supervisor": VIEWS,
    "Support (read-only)": ["compliance.view_alert", "compliance.view_case"],
}
TASKS = [
    dict(
        name="compliance: decline holds past review",
        task="compliance.expire_holds",
        queue="compliance",
        every_seconds=60,
        description="Declines payments and payouts held for review that nobody released or declined in time.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_case_file_append_only"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        role_permissions_grant("compliance", GRANTS),
        install_periodic_tasks(TASKS),
    ]
