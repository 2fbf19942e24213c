from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"
    verbose_name = "Routing and connectors"

    def ready(self) -> None:
        register_sensitive_actions()


def register_sensitive_actions() -> None:
    """Disabling a connector (and enabling it again) needs a second person."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import InvalidRequest, sensitive_action_register
    from apps.routing import selectors, services

    def connector(*, enabled: bool) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            if arguments.get("changes") != {"enabled": enabled}:
                raise InvalidRequest(f"This request changes only whether the connector is enabled, to {enabled}.")
            try:
                found = selectors.connector_get(str(arguments.get("name")))
            except services.UnknownConnector as unknown:
                raise InvalidRequest(unknown.detail) from unknown
            if found.enabled == enabled:
                raise InvalidRequest(f"{found.name} is already {'enabled' if enabled else 'disabled'}.")
            return Target("routing.connector", str(found.pk), f"{found.display_name} ({found.name})")

        return describe

    sensitive_action_register(SensitiveAction(
        name="routing.connector_disable", label="Disable a connector", service=services.connector_update,
        describe=connector(enabled=False), permission="compliance.request_connector_change",
    ))
    sensitive_action_register(SensitiveAction(
        name="routing.connector_enable", label="Enable a connector", service=services.connector_update,
        describe=connector(enabled=True), permission="compliance.request_connector_change",
    ))
