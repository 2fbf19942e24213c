"""Indexes the matching run pays for and nothing reads. On reconciliation_expectation: its
reference, end-to-end id and group key (matching compares them in hash joins over its working
tables; the admin's search is a substring search, which no B-tree serves), and the nostro
foreign key's own index and LIKE index (recon_expect_open_idx starts with nostro_code and serves
every lookup by nostro). On reconciliation_matchexpectation: match_id's own index (the unique
(match_id, expectation_id) starts with it). A matched expectation's UPDATE is never HOT (its
state is indexed), so it rewrote all eight indexes; now three. Updating 100,000 expectations:
3.06 s and 126 MB of WAL with eight, 1.2-1.3 s and 78 MB with three (bench/README.md)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reconciliation', '0012_breaks_roles_and_nightly_proof'),
        ('treasury', '0008_positions_roles_and_check'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='expectation',
            name='recon_expect_reference_idx',
        ),
        migrations.RemoveIndex(
            model_name='expectation',
            name='recon_expect_e2e_idx',
        ),
        migrations.RemoveIndex(
            model_name='expectation',
            name='recon_expect_group_idx',
        ),
        migrations.AlterField(
            model_name='expectation',
            name='nostro',
            field=models.ForeignKey(db_column='nostro_code', db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='expectations', to='treasury.nostroaccount', to_field='code'),
        ),
        migrations.AlterField(
            model_name='matchexpectation',
            name='match',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='expectations', to='reconciliation.match'),
        ),
    ]
