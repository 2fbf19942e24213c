"""The sensitive actions compliance registers itself: the ledger's (which sits below it and cannot
register its own) and changing an approval policy. Merchants and routing register theirs from
their own ``AppConfig.ready``."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from apps.compliance import services
from apps.compliance.data import (
    ACCOUNT_FREEZE,
    ACCOUNT_UNFREEZE,
    ADJUSTMENT,
    MERCHANT_ACCOUNTS_FREEZE,
    POLICY_CHANGE,
    SensitiveAction,
    Target,
)
from apps.compliance.monitoring import actions as monitoring_actions
from apps.compliance.sanctions import allow_list
from apps.core import ids
from apps.core.actors import Actor
from apps.core.money import Money
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services


def _account_label(account: Any) -> str:
    return f"{account.get_code_display()} {ids.encode('acc', account.pk)} ({account.currency})"


def _account_target(*, frozen: bool) -> Any:
    def describe(arguments: Mapping[str, Any]) -> Target:
        account = ledger_selectors.account_get(account_id=arguments.get("account_id"))
        if account is None:
            raise services.InvalidRequest(f"There is no account {arguments.get('account_id')}.")
        if account.frozen == frozen:
            state = "frozen" if frozen else "not frozen"
            raise services.InvalidRequest(f"{_account_label(account)} is already {state}.")
        merchant = str(account.merchant_id) if account.merchant_id else None
        return Target("ledger.account", str(account.pk), _account_label(account), merchant)

    return describe


def _adjustment_accounts(arguments: Mapping[str, Any]) -> tuple[Any, Any]:
    try:
        return ledger_services.adjustment_validate(
            debit_account_id=arguments.get("debit_account_id"), credit_account_id=arguments.get("credit_account_id"),
            amount=arguments.get("amount"), currency=arguments.get("currency"),
            reason_code=arguments.get("reason_code"), note=arguments.get("note"),
        )
    except ledger_services.AdjustmentNotAllowed as refused:
        raise services.InvalidRequest(refused.detail) from refused


def _adjustment_target(arguments: Mapping[str, Any]) -> Target:
    debit, credit = _adjustment_accounts(arguments)
    money = Money(arguments["amount"], arguments["currency"]).format()
    merchant = debit.merchant_id or credit.merchant_id
    return Target(
        "ledger.account", str(debit.pk), f"{money} from {_account_label(debit)} to {_account_label(credit)}",
        str(merchant) if merchant else None,
    )


def _adjustment_post(*, actor: Actor, reason: str, **arguments: Any) -> str:
    transfer = ledger_services.adjustment_post(**arguments, actor=actor, reason=reason)
    return f"Posted {ids.encode('tr', transfer.pk)}: {Money(transfer.amount, transfer.currency).format()}"


def _account_freeze(*, account_id: str, actor: Actor, reason: str) -> str:
    account = ledger_services.account_freeze(account_id=account_id, actor=actor, reason=reason)
    return f"{_account_label(account)} frozen."


def _account_unfreeze(*, account_id: str, actor: Actor, reason: str) -> str:
    account = ledger_services.account_unfreeze(account_id=account_id, actor=actor, reason=reason)
    return f"{_account_label(account)} unfrozen."


def _merchant_accounts_unfrozen(merchant_id: Any) -> list[Any]:
    return [account for account in ledger_selectors.merchant_accounts(merchant_id=merchant_id) if not account.frozen]


def _merchant_accounts_target(arguments: Mapping[str, Any]) -> Target:
    """A merchant's own ledger accounts, by its id; refused when none is left unfrozen."""
    try:
        merchant_id = UUID(str(arguments.get("merchant_id")))
    except ValueError as malformed:
        raise services.InvalidRequest(f"{arguments.get('merchant_id')!r} is not a merchant's id.") from malformed
    accounts = _merchant_accounts_unfrozen(merchant_id)
    if not accounts:
        raise services.InvalidRequest(f"Merchant {ids.encode('mer', merchant_id)} has no account left to freeze.")
    return Target("merchants.merchant", str(merchant_id),
                  f"The {len(accounts)} unfrozen ledger accounts of merchant {ids.encode('mer', merchant_id)}",
                  str(merchant_id))


def _merchant_accounts_freeze(*, merchant_id: str, actor: Actor, reason: str) -> str:
    """Freeze each of the merchant's own accounts not yet frozen (each journaled by the ledger)."""
    frozen = [ledger_services.account_freeze(account_id=account.pk, actor=actor, reason=reason)
              for account in _merchant_accounts_unfrozen(merchant_id)]
    return f"{len(frozen)} accounts of {ids.encode('mer', UUID(merchant_id))} frozen."


def _policy_change(**arguments: Any) -> str:
    policy = services.approval_policy_set(**arguments)
    return f"Policy of {policy} set."


def register() -> None:
    services.sensitive_action_register(SensitiveAction(
        name=ACCOUNT_FREEZE, label="Freeze a ledger account", service=_account_freeze,
        describe=_account_target(frozen=True), permission="compliance.request_account_freeze",
    ))
    services.sensitive_action_register(SensitiveAction(
        name=ACCOUNT_UNFREEZE, label="Unfreeze a ledger account", service=_account_unfreeze,
        describe=_account_target(frozen=False), permission="compliance.request_account_freeze",
    ))
    services.sensitive_action_register(SensitiveAction(
        name=MERCHANT_ACCOUNTS_FREEZE, label="Freeze all of a merchant's accounts", service=_merchant_accounts_freeze,
        describe=_merchant_accounts_target, permission="compliance.request_account_freeze",
    ))
    services.sensitive_action_register(SensitiveAction(
        name=ADJUSTMENT, label="Manual ledger adjustment", service=_adjustment_post, describe=_adjustment_target,
        permission="compliance.request_adjustment",
        amount=lambda arguments: (arguments["amount"], arguments["currency"]),
    ))
    services.sensitive_action_register(SensitiveAction(
        name=POLICY_CHANGE, label="Change an approval policy", service=_policy_change,
        describe=services.approval_policy_validate, permission="compliance.request_policy_change",
        always_checked=True,
    ))
    monitoring_actions.register()
    allow_list.register()
