from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_staff_roles'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='captured_at',
            field=models.DateTimeField(blank=True, help_text='When the capture succeeded: the moment settlement counts it from.', null=True),
        ),
        # Payments captured before the column existed: their last change was the capture (a refund
        # since would have moved it later, so this errs late, never before the capture).
        migrations.RunSQL(
            "UPDATE payments_payment SET captured_at = updated_at WHERE amount_captured > 0 AND captured_at IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('amount_captured', 0), ('captured_at__isnull', True)), models.Q(('amount_captured__gt', 0), ('captured_at__isnull', False)), _connector='OR'), name='payment_captured_at_with_capture'),
        ),
    ]
