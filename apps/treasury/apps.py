from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "apps.treasury"
    label = "treasury"
    verbose_name = "Treasury"

    def ready(self) -> None:
        # Low-liquidity alerts (and their clearing) are announced on the outbox; the operations log
        # hears them on the default queue (a pager or chat bridge subscribes the same way).
        from apps.events.outbox.subscriptions import subscribe
        from apps.treasury.services.positions import LOW_LIQUIDITY, LOW_LIQUIDITY_CLEARED

        for event_type in (LOW_LIQUIDITY, LOW_LIQUIDITY_CLEARED):
            subscribe(event_type, task="treasury.low_liquidity_announce", queue="default")
        register_sensitive_actions()


def register_sensitive_actions() -> None:
    """A sweep between nostros moves fincore's own money: above the policy's threshold of its
    currency (10,000.000 BHD as seeded) a compliance supervisor approves it; under it, it is sent at
    once (journaled all the same)."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import InvalidRequest, sensitive_action_register
    from apps.core.money import Money
    from apps.treasury.selectors import sweeps as selectors
    from apps.treasury.services import sweeps

    def sweep(arguments: Mapping[str, Any]) -> Any:
        found = selectors.sweep_requested(sweep_id=arguments.get("sweep_id"))
        if found is None:
            raise InvalidRequest(f"There is no sweep {arguments.get('sweep_id')} waiting for approval.")
        return found

    def describe(arguments: Mapping[str, Any]) -> Target:
        found = sweep(arguments)
        label = (f"{Money(found.amount, found.currency).format()} from {found.from_nostro_id} to "
                 f"{found.to_nostro_id}, {sweeps.sweep_public_id(found.pk)}")
        return Target("treasury.sweep", str(found.pk), label)

    def amount(arguments: Mapping[str, Any]) -> tuple[int, str]:
        found = sweep(arguments)
        return found.amount, found.currency

    sensitive_action_register(SensitiveAction(
        name=sweeps.SWEEP, label="Sweep between nostros", service=sweeps.sweep_execute, describe=describe,
        permission="treasury.request_sweep", amount=amount, closed=sweeps.sweep_close,
    ))
