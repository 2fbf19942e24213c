"""The sensitive actions the apps registered when Django started (``AppConfig.ready``)."""

from apps.compliance.data import SensitiveAction
from apps.core.exceptions import FincoreError

_actions: dict[str, SensitiveAction] = {}


class UnknownAction(FincoreError):
    code = "approval_action_unknown"
    title = "No such sensitive action is registered"
    status = 422


def register(action: SensitiveAction) -> None:
    """Add ``action``; registering the same name twice with another service is a programming error."""
    known = _actions.get(action.name)
    if known is not None and known != action:
        raise ValueError(f"the sensitive action {action.name!r} is already registered")
    _actions[action.name] = action


def get(name: str) -> SensitiveAction:
    """Raises UnknownAction."""
    try:
        return _actions[name]
    except KeyError:
        raise UnknownAction(f"{name!r} is not a registered sensitive action.") from None


def actions() -> list[SensitiveAction]:
    """Every registered action, by label."""
    return sorted(_actions.values(), key=lambda action: action.label)
