from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Connects the Celery signal that carries request ids into published tasks.
        from apps.core import worker  # noqa: F401
