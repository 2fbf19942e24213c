"""Where Django's admin autodiscovery looks: each half of events registers its own models."""

from apps.events.outbox import admin as outbox_admin
from apps.events.webhooks import admin as webhooks_admin

__all__ = ["outbox_admin", "webhooks_admin"]
