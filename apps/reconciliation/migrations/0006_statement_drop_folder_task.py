from django.db import migrations

from apps.core.beat import install_periodic_tasks

TASKS = [
    dict(
        name="reconciliation: statement drop folder",
        task="reconciliation.statement_drop_folder_scan",
        queue="reconciliation",
        every_seconds=60,
        description="Imports the statement files left in FINCORE_STATEMENT_DROP_DIR (nothing when it is empty), "
                    "then files each under imported/ or refused/ (with the reason).",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("reconciliation", "0005_csv_statement_mappings"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [install_periodic_tasks(TASKS)]
