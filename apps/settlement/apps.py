from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "apps.settlement"
    label = "settlement"
    verbose_name = "Settlement"

    def ready(self) -> None:
        register_sensitive_actions()


def register_sensitive_actions() -> None:
    """Adding, moving (an estimated Eid, once announced) and removing a holiday need a second person:
    the business calendar decides which day's settlement every payment belongs to."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import sensitive_action_register
    from apps.settlement import services

    def holiday_change(action: str) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            change = services.holiday_change_check(action, dict(arguments))
            if change.holiday is not None:
                return Target("settlement.holiday", str(change.holiday.pk), change.label)
            return Target("settlement.businesscalendar", str(change.calendar.pk), change.label)

        return describe

    permission = "settlement.request_holiday_change"
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_ADD, label="Add a holiday", service=services.holiday_add,
        describe=holiday_change(services.HOLIDAY_ADD), permission=permission,
    ))
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_MOVE, label="Move a holiday", service=services.holiday_move,
        describe=holiday_change(services.HOLIDAY_MOVE), permission=permission,
    ))
    sensitive_action_register(SensitiveAction(
        name=services.HOLIDAY_REMOVE, label="Remove a holiday", service=services.holiday_remove,
        describe=holiday_change(services.HOLIDAY_REMOVE), permission=permission,
    ))
