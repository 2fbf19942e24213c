"""Maker-checker's vocabulary: what a sensitive action is, as each app registers it.

A request stores the action's name and its arguments (JSON); approving it calls
``service(**arguments, actor=..., reason=...)``, the owning app's own service, so compliance
never imports the apps above it: they hand it their services when Django starts.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    """What a request acts on, as the journal and the staff see it."""

    object_type: str  # as in the journal: "ledger.account", "merchants.merchant"
    object_id: str
    label: str  # "Acme Trading W.L.L.", "Merchant available (BHD) of Acme"
    merchant_id: str | None = None


@dataclass(frozen=True, slots=True)
class SensitiveAction:
    """One action that needs a second person.

    ``service`` is called as ``service(**arguments, actor=actor, reason=reason)`` and raises a
    FincoreError to refuse. ``describe(arguments)`` names the target and raises a FincoreError
    for arguments no request may carry (checked when the request is made or edited).
    ``amount(arguments)``, for actions that move money, gives ``(minor units, currency)``, which
    a policy's threshold is compared with. ``permission`` ("app.codename") is what a maker needs.
    ``always_checked`` actions need a checker whatever a policy says (changing a policy).
    """

    name: str
    label: str
    service: Callable[..., Any]
    describe: Callable[[Mapping[str, Any]], Target]
    permission: str
    amount: Callable[[Mapping[str, Any]], tuple[int, str]] | None = None
    always_checked: bool = False


# The actions compliance registers itself (apps.compliance.actions).
ACCOUNT_FREEZE = "ledger.account_freeze"
ACCOUNT_UNFREEZE = "ledger.account_unfreeze"
ADJUSTMENT = "ledger.adjustment"
POLICY_CHANGE = "compliance.policy_change"

# Until an operator sets a policy: every action needs one checker, and a request waits 72 hours.
DEFAULT_EXPIRY_HOURS = 72
DEFAULT_APPROVALS_REQUIRED = 1
MAX_APPROVALS_REQUIRED = 3
MAX_EXPIRY_HOURS = 24 * 30
