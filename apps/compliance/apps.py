from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # The ledger's sensitive actions (the ledger sits below compliance) and policy changes.
        from apps.compliance import actions

        actions.register()
