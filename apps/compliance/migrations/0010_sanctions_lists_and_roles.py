"""The three lists screened (the UN Security Council's consolidated list, OFAC's SDN list and the
national list kept as CSV), with their thresholds, and who may do what with them: compliance
officers import versions and request allow-list entries; supervisors approve those (maker-checker)
and, like support, see lists, hits and the allow-list."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

LISTS = [
    ("un", "UN Security Council consolidated list", 88),
    ("ofac", "OFAC SDN list", 88),
    ("local", "National list", 85),
]
VIEWS = [f"compliance.view_{model}" for model in (
    "sanctionslist", "sanctionslistversion", "sanctionsentry", "screeninghit", "sanctionsallowlistentry",
    "sanctionsrescreen")]
GRANTS = {
    "Compliance officer": [*VIEWS, "compliance.import_sanctions_list", "compliance.request_sanctions_allow_list"],
    "Compliance supervisor": VIEWS,
    "Support (read-only)": VIEWS,
}


def lists_create(apps, schema_editor):
    SanctionsList = apps.get_model("compliance", "SanctionsList")
    for source, name, threshold in LISTS:
        SanctionsList.objects.get_or_create(source=source, defaults={"name": name, "threshold": threshold})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0009_sanctions")]

    operations = [
        migrations.RunPython(lists_create, migrations.RunPython.noop),
        role_permissions_grant("compliance", GRANTS),
    ]
