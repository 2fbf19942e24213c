from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "apps.merchants"
    label = "merchants"
    verbose_name = "Merchants"

    def ready(self) -> None:
        register_sensitive_actions()


def register_sensitive_actions() -> None:
    """Suspending and reactivating a merchant, revoking an API key and setting the bank account a
    merchant is paid out to need a second person."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import InvalidRequest, sensitive_action_register
    from apps.core import ids
    from apps.merchants import selectors, services

    def merchant(status: str) -> Any:
        def describe(arguments: Mapping[str, Any]) -> Target:
            found = selectors.merchant_get(arguments.get("merchant_id"))
            if found is None:
                raise InvalidRequest(f"There is no merchant {arguments.get('merchant_id')}.")
            if found.status == status:
                raise InvalidRequest(f"{found.legal_name} is already {status}.")
            return Target("merchants.merchant", str(found.pk), f"{found.legal_name} ({ids.encode('mer', found.pk)})",
                          str(found.pk))

        return describe

    def api_key(arguments: Mapping[str, Any]) -> Target:
        found = selectors.api_key_get_any(arguments.get("api_key_id"))
        if found is None:
            raise InvalidRequest(f"There is no API key {arguments.get('api_key_id')}.")
        if found.is_revoked:
            raise InvalidRequest(f"The key {found} is already revoked.")
        return Target("merchants.apikey", str(found.pk), f"{found} of {found.merchant.legal_name}",
                      str(found.merchant_id))

    sensitive_action_register(SensitiveAction(
        name="merchants.suspend", label="Suspend a merchant", service=services.merchant_suspend,
        describe=merchant("suspended"), permission="compliance.request_merchant_status",
    ))
    sensitive_action_register(SensitiveAction(
        name="merchants.activate", label="Reactivate a merchant", service=services.merchant_activate,
        describe=merchant("active"), permission="compliance.request_merchant_status",
    ))
    sensitive_action_register(SensitiveAction(
        name="merchants.api_key_revoke", label="Revoke an API key", service=services.api_key_revoke,
        describe=api_key, permission="compliance.request_api_key_revoke",
    ))

    def bank_account(arguments: Mapping[str, Any]) -> Target:
        # Refused when made: a request for an invalid IBAN or BIC never reaches a checker.
        change = services.bank_account_check(
            merchant_id=arguments.get("merchant_id"), currency=arguments.get("currency"),
            iban=arguments.get("iban"), bic=arguments.get("bic"), beneficiary_name=arguments.get("beneficiary_name"),
        )
        return Target("merchants.merchant", str(change.merchant.pk), change.label, str(change.merchant.pk))

    sensitive_action_register(SensitiveAction(
        name=services.BANK_ACCOUNT_SET, label="Set a merchant's bank account (payouts)",
        service=services.bank_account_set, describe=bank_account,
        permission="merchants.request_bank_account_change",
    ))
