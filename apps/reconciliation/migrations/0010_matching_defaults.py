"""Matching's defaults: the four default rules (enabled), the nightly matching of every nostro, and
who sees and asks for changes to the rules (everyone on staff sees them; treasury operators ask,
a supervisor approves)."""

from typing import Any

from django.db import migrations
from django.db.migrations.state import StateApps

from apps.core.beat import install_periodic_tasks
from apps.core.ids import uuid7
from apps.core.roles import role_permissions_grant

RULES = [
    dict(name="End-to-end id and amount", priority=10, cardinality="one_to_one",
         criteria=[{"field": "end_to_end_id", "op": "exact"}, {"field": "amount", "op": "exact"}],
         description="The bank echoes the end-to-end id fincore sent (payouts, sweeps)."),
    dict(name="Reference, amount and date", priority=20, cardinality="one_to_one",
         criteria=[{"field": "reference", "op": "exact"}, {"field": "amount", "op": "exact"},
                   {"field": "date", "op": "window_days", "value": 3}],
         description="The reference as expected, the amount to the fils, booked within 3 days."),
    dict(name="Batch settled in one line", priority=30, cardinality="one_to_many",
         criteria=[{"field": "reference", "op": "exact"}, {"field": "amount", "op": "exact"}],
         description="One line whose reference is a group key (a connector's batch id) settles the group's sum."),
    dict(name="Reference inside, amount within 0.5 %, counterparty alike", priority=40, cardinality="one_to_one",
         criteria=[{"field": "reference", "op": "contains"}, {"field": "amount", "op": "tolerance_percent", "value": "0.5"},
                   {"field": "date", "op": "window_days", "value": 5},
                   {"field": "counterparty_name", "op": "fuzzy", "value": 85}],
         description="The bank wrapped the reference in other text and charged a little: the counterparty's "
                     "name must then look alike."),
]

TASKS = [
    dict(
        name="reconciliation: match every nostro's unmatched statement lines",
        task="reconciliation.match_all",
        queue="reconciliation",
        crontab={"minute": "30", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        description="Nightly at 02:30 Bahrain: the enabled matching rules over every nostro's unmatched lines "
                    "(expectations declared since the last import may match now). Each import also matches "
                    "its nostro at once.",
    ),
]

VIEW = ["reconciliation.view_matchingrule"]
GRANTS = {
    "Compliance officer": VIEW,
    "Compliance supervisor": VIEW,
    "Treasury operator": [*VIEW, "reconciliation.request_matchingrule_change"],
    "Support (read-only)": VIEW,
}


def rules_seed(apps: StateApps, schema_editor: Any) -> None:
    from django.utils import timezone

    MatchingRule = apps.get_model("reconciliation", "MatchingRule")
    now = timezone.now()
    for rule in RULES:
        if not MatchingRule.objects.filter(name=rule["name"]).exists():
            MatchingRule.objects.create(id=uuid7(), enabled=True, version=1, created_at=now, changed_at=now, **rule)


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0009_match_posting"), ("core", "0002_periodic_tasks"),
                    ("ops", "0001_staff_roles")]

    operations = [
        migrations.RunPython(rules_seed, migrations.RunPython.noop),
        install_periodic_tasks(TASKS),
        role_permissions_grant("reconciliation", GRANTS),
    ]
