from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        register_sensitive_actions()


def register_sensitive_actions() -> None:
    """A payout at or above its currency's approval threshold leaves only once a second person
    approves it: a treasury operator requests its release, a compliance supervisor approves."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import InvalidRequest, sensitive_action_register
    from apps.core import ids
    from apps.core.money import Money
    from apps.payments import selectors, services

    def payout(arguments: Mapping[str, Any]) -> Any:
        found = selectors.payout_get_any(arguments.get("payout_id"))
        if found is None:
            raise InvalidRequest(f"There is no payout {arguments.get('payout_id')}.")
        return found

    def describe(arguments: Mapping[str, Any]) -> Target:
        found = payout(arguments)
        services.payout_release_check(found)
        label = (f"{Money(found.amount, found.currency).format()} to {found.beneficiary_name} "
                 f"(··{found.iban[-4:]}), {ids.encode('po', found.pk)}")
        return Target("payments.payout", str(found.pk), label, str(found.merchant_id))

    def amount(arguments: Mapping[str, Any]) -> tuple[int, str]:
        found = payout(arguments)
        return found.amount, found.currency

    sensitive_action_register(SensitiveAction(
        name=services.PAYOUT_RELEASE, label="Release a payout that needs approval", service=services.payout_release,
        describe=describe, permission="payments.request_payout_release", amount=amount,
    ))
