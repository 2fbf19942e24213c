"""Indexes the matching run pays for and nothing reads: an expectation's reference, end-to-end id
and group key (matching compares them in hash joins over its working tables; the admin's search
is a substring search, which no B-tree serves), and the match rows' own index on match_id (the
unique (match_id, expectation_id) starts with it). Every matched expectation's UPDATE rewrote
the three (the state it changes is indexed, so the update is never HOT), and every match row
the fourth: at 100,000 lines, about a third of the UPDATE's time (bench/README.md)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reconciliation', '0012_breaks_roles_and_nightly_proof'),
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
            model_name='matchexpectation',
            name='match',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='expectations', to='reconciliation.match'),
        ),
    ]
