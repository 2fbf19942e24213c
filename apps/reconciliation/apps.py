from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # Expectations' tasks (Celery's autodiscovery looks only at ``tasks``), and a payout sent
        # by file expected as soon as payments announces it (the beat sweep is the safety net).
        from apps.events.outbox.subscriptions import subscribe
        from apps.reconciliation import tasks_expectations  # noqa: F401

        subscribe("payments.payout_updated", task="reconciliation.expect_payout", queue="reconciliation")
