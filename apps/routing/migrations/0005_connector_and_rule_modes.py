"""Connectors and routing rules belong to one mode. Every connector so far is a sandbox and serves
test payments only; fincore's own wallets get a live connector account (``wallet_live``), so live
wallet payments keep working. A live payment with no live connector is refused at the API."""

from decimal import Decimal

from django.db import migrations, models

WALLET_LIVE = dict(
    name="wallet_live", display_name="fincore wallets (live)", adapter="wallet", method="wallet", livemode=True,
    currencies=["BHD", "SAR", "AED", "KWD", "QAR", "OMR", "USD", "EUR"],
    error_codes={"do_not_honor": "hard", "connector_unavailable": "retryable"}, latency_ms=0,
)


def seed(apps, schema_editor):
    apps.get_model("routing", "Connector").objects.get_or_create(name=WALLET_LIVE["name"], defaults=WALLET_LIVE)


def unseed(apps, schema_editor):
    apps.get_model("routing", "Connector").objects.filter(name=WALLET_LIVE["name"]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0004_sandbox_operation_parent_index'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='routingrule',
            options={'ordering': ('livemode', 'position')},
        ),
        migrations.AddField(
            model_name='connector',
            name='livemode',
            field=models.BooleanField(default=False, help_text="Which money it moves: live payments (a real rail, or fincore's own wallets) or test payments. A connector serves one mode; the simulated external rails serve test payments only."),
        ),
        migrations.AddField(
            model_name='routingrule',
            name='livemode',
            field=models.BooleanField(default=False, help_text='Live payments and test payments are routed by rules of their own mode.'),
        ),
        migrations.AlterField(
            model_name='routingrule',
            name='position',
            field=models.PositiveIntegerField(help_text='Lower first, among the rules of its mode; the first match wins.'),
        ),
        migrations.AddConstraint(
            model_name='connector',
            constraint=models.CheckConstraint(condition=models.Q(('livemode', False), ('adapter', 'wallet'), _connector='OR'), name='connector_simulators_test_only'),
        ),
        migrations.AddConstraint(
            model_name='connector',
            constraint=models.CheckConstraint(condition=models.Q(('livemode', False), models.Q(('decline_rate', Decimal('0')), ('latency_ms', 0), ('outage_rate', Decimal('0')), ('timeout_rate', Decimal('0'))), _connector='OR'), name='connector_live_simulates_nothing'),
        ),
        migrations.AddConstraint(
            model_name='routingrule',
            constraint=models.UniqueConstraint(fields=('livemode', 'position'), name='routing_rule_position_per_mode', violation_error_message='Another rule of this mode already has this position.'),
        ),
        migrations.RunPython(seed, unseed),
    ]
