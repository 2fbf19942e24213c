from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Connects the Celery signals that count and time tasks.
        from apps.ops import metrics  # noqa: F401
