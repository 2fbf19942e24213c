# Built concurrently: on a live payments table a plain CREATE INDEX would block every payment
# write for as long as the build takes.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('payments', '0006_idempotency_keys_and_not_received'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='payment',
            index=models.Index(fields=['created_at'], name='payment_created_at'),
        ),
        AddIndexConcurrently(
            model_name='paymentattempt',
            index=models.Index(condition=models.Q(('needs_review', True)), fields=['updated_at'], name='attempt_needs_review'),
        ),
    ]
