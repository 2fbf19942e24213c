"""Reconciliation's sensitive actions, registered with the maker-checker when Django starts."""

from collections.abc import Mapping
from typing import Any


def register_break_actions() -> None:
    """An adjusting transfer through suspense moves a nostro in the ledger: a second person checks
    it, above the policy's threshold (the break's amount in its currency)."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import sensitive_action_register
    from apps.core.money import Money
    from apps.reconciliation.services import breaks

    def describe(arguments: Mapping[str, Any]) -> Target:
        found = breaks.break_adjust_check(arguments)
        label = (f"{found.nostro_id}: clear {found.get_kind_display().lower()} "
                 f"{Money(found.amount, found.currency).format()} through suspense")
        return Target("reconciliation.break", str(found.pk), label)

    def amount(arguments: Mapping[str, Any]) -> tuple[int, str]:
        found = breaks.break_adjust_check(arguments)
        return abs(found.amount), found.currency

    sensitive_action_register(SensitiveAction(
        name=breaks.BREAK_ADJUST, label="Clear a break by an adjusting transfer through suspense",
        service=breaks.break_adjust, describe=describe, permission=breaks.WORK_PERMISSION, amount=amount,
    ))
