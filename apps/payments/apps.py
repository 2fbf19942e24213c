from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        register_sensitive_actions()
        register_hold_handlers()


def register_sensitive_actions() -> None:
    """A payout at or above its currency's approval threshold leaves only once a second person
    approves it: a treasury operator requests its release, a compliance supervisor approves. Holding
    a merchant's payouts, and letting them leave again, is requested by a compliance officer (from a
    case) and approved by a second one."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import InvalidRequest, sensitive_action_register
    from apps.core import ids
    from apps.core.money import Money
    from apps.merchants import selectors as merchants_selectors
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

    def merchant(held: bool) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            found = merchants_selectors.merchant_get(arguments.get("merchant_id"))
            if found is None:
                raise InvalidRequest(f"There is no merchant {arguments.get('merchant_id')}.")
            if selectors.merchant_payouts_held(found.pk) == held:
                raise InvalidRequest(f"{found.legal_name}'s payouts are {'already' if held else 'not'} held.")
            return Target("merchants.merchant", str(found.pk), f"Payouts of {found.legal_name} "
                          f"({ids.encode('mer', found.pk)})", str(found.pk))

        return describe

    sensitive_action_register(SensitiveAction(
        name=services.MERCHANT_PAYOUTS_HOLD, label="Hold a merchant's payouts", service=services.merchant_payouts_hold,
        describe=merchant(True), permission="payments.request_merchant_payouts_hold",
    ))
    sensitive_action_register(SensitiveAction(
        name=services.MERCHANT_PAYOUTS_UNHOLD, label="Let a merchant's held payouts leave",
        service=services.merchant_payouts_unhold, describe=merchant(False),
        permission="payments.request_merchant_payouts_hold",
    ))
    sensitive_action_register(SensitiveAction(
        name=services.PAYOUT_RELEASE, label="Release a payout that needs approval", service=services.payout_release,
        describe=describe, permission="payments.request_payout_release", amount=amount,
    ))


def register_hold_handlers() -> None:
    """What releasing and declining a payment or payout compliance holds means (an officer's
    decision from an alert, or the SLA sweep's decline)."""
    from apps.compliance.alerts.holds import hold_handlers_register
    from apps.payments import services

    hold_handlers_register("payments.payment", release=services.payment_review_release,
                           decline=services.payment_review_decline)
    hold_handlers_register("payments.payout", release=services.payout_review_release,
                           decline=services.payout_review_decline)
