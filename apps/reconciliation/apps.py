from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        from apps.reconciliation.actions import register_break_actions

        register_break_actions()
