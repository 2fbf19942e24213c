"""The app's models, where Django looks for them: each half of events defines its own."""

from apps.events.outbox.models import DeadLetter, OutboxMessage, ProcessedMessage
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent

__all__ = [
    "DeadLetter",
    "OutboxMessage",
    "ProcessedMessage",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "WebhookEvent",
]
