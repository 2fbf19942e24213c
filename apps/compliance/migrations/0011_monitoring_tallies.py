"""Monitoring's windows read tallies, not every movement: ``compliance_monitoringtally`` holds each
merchant's, wallet's, card's and IBAN's count and total of movements by kind, per minute and per
hour, failed payments left out. A trigger keeps it in the transaction that writes the movements
(recorded, marked failed, removed); the movements recorded before this migration are tallied here.

The trigger is deferred to the commit: a merchant's payments all add to the same minute's and
hour's tallies, and a tally written when the payment is recorded stays locked while the rest of
``payment_create``'s transaction runs, so a merchant's payments would be accepted one at a time
(fewer accepted per second in the payments benchmark). At the commit it is locked only while the
commit is written. A transaction that reads windows first sets the trigger ``IMMEDIATE``
(``monitoring.selectors.windows_figures``), so its own movements are in the tallies it reads.

A "merchant daily volume" window read every one of the merchant's movements that day on each
payment: 1.3 ms of PostgreSQL at 2,400 movements, growing with the merchant's volume. Read from
tallies, it costs at most one row per hour plus the minutes and movements at its two ends.
"""

from django.db import migrations, models

# One movement's count and total (times ``sign``: 1 recorded, -1 gone or failed) added to its
# dimensions' minute and hour, rows locked in key order. (No CHECK that counts stay positive:
# PostgreSQL checks the row an upsert proposes before it finds the row to update, and a decrement
# proposes a negative one.)
_ADD = """
    INSERT INTO compliance_monitoringtally
        (dimension, value, livemode, currency, kind, bucket_seconds, bucket_start, count, total)
    SELECT d.dimension, d.value, {e}.livemode, {e}.currency, {e}.kind, b.seconds,
           date_bin(make_interval(secs => b.seconds), {e}.occurred_at, TIMESTAMPTZ 'epoch'),
           {count}, {total}
    FROM {source}
    CROSS JOIN LATERAL (VALUES ('merchant', {e}.merchant_id::text), ('wallet', nullif({e}.wallet, '')),
                               ('card_fingerprint', nullif({e}.card_fingerprint, '')), ('iban', nullif({e}.iban, '')))
        AS d (dimension, value)
    CROSS JOIN (VALUES (60), (3600)) AS b (seconds)
    WHERE d.value IS NOT NULL {where}
    {group}
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (dimension, value, livemode, currency, kind, bucket_seconds, bucket_start) DO UPDATE
    SET count = compliance_monitoringtally.count + excluded.count,
        total = compliance_monitoringtally.total + excluded.total
"""

FORWARD = f"""
CREATE FUNCTION monitoring_tally_add(event compliance_monitoredevent, sign integer) RETURNS void
LANGUAGE sql AS $$
    {_ADD.format(e="event", count="sign", total="sign * event.amount", source="(SELECT) AS one", where="",
                 group="")}
$$;

CREATE FUNCTION monitoring_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF NOT OLD.failed THEN
            PERFORM monitoring_tally_add(OLD, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NOT NEW.failed THEN
            PERFORM monitoring_tally_add(NEW, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER monitoring_tally AFTER INSERT OR UPDATE OR DELETE ON compliance_monitoredevent
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION monitoring_tally();

{_ADD.format(e="e", count="count(*)", total="sum(e.amount)", source="compliance_monitoredevent AS e",
             where="AND NOT e.failed", group="GROUP BY 1, 2, 3, 4, 5, 6, 7")};
"""

BACKWARD = """
DROP TRIGGER monitoring_tally ON compliance_monitoredevent;
DROP FUNCTION monitoring_tally();
DROP FUNCTION monitoring_tally_add(compliance_monitoredevent, integer);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0010_sanctions_lists_and_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonitoringTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('dimension', models.CharField(max_length=16)),
                ('value', models.CharField(help_text="The merchant's uuid, the wallet, card fingerprint or IBAN.", max_length=64)),
                ('livemode', models.BooleanField()),
                ('currency', models.CharField(max_length=3)),
                ('kind', models.CharField(choices=[('payment', 'Payment'), ('refund', 'Refund'), ('payout', 'Payout'), ('transfer', 'Wallet transfer')], max_length=16)),
                ('bucket_seconds', models.IntegerField(help_text='60: a minute; 3600: an hour.')),
                ('bucket_start', models.DateTimeField(help_text='A whole minute or hour (UTC).')),
                ('count', models.BigIntegerField()),
                ('total', models.BigIntegerField(help_text='Minor units of its currency.')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('dimension', 'value', 'livemode', 'currency', 'kind', 'bucket_seconds', 'bucket_start'), name='monitoring_tally_once'), models.CheckConstraint(condition=models.Q(('dimension__in', ['merchant', 'wallet', 'card_fingerprint', 'iban'])), name='monitoring_tally_dimension_valid'), models.CheckConstraint(condition=models.Q(('bucket_seconds__in', [60, 3600])), name='monitoring_tally_bucket_valid')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
