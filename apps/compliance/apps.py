from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # The ledger's sensitive actions (the ledger sits below compliance) and policy changes.
        from apps.compliance import actions

        actions.register()
        # Monitoring reads payments' outcomes from the outbox, on its own queue (never in a payment's request path).
        from apps.compliance.monitoring.services import MONITORED_EVENTS
        from apps.events.outbox.subscriptions import subscribe

        for event_type in MONITORED_EVENTS:
            subscribe(event_type, task="compliance.monitor_event", queue="compliance")
