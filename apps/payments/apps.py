from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from apps.events.webhooks.services import endpoints as events_services
        from apps.payments.services import WEBHOOK_EVENT_TYPES

        # Merchants subscribe their webhook endpoints to these (apps.events validates against them).
        events_services.webhook_event_types_register(WEBHOOK_EVENT_TYPES)
