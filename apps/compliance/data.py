"""Compliance's vocabulary: what a sensitive action is, as each app registers it (maker-checker), and
whom an alert is about, how severe it is and what it holds (monitoring, screening, cases).

A request stores the action's name and its arguments (JSON); approving it calls
``service(**arguments, actor=..., reason=...)``, the owning app's own service, so compliance
never imports the apps above it: they hand it their services when Django starts.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID


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
    ``closed(arguments, state, actor)``, when given, is called in the request's transaction when
    it ends without the action having run (``rejected``, ``expired``, or ``failed``: the service
    refused), so an app that stored what was asked for (a sweep) can say it will not happen.
    """

    name: str
    label: str
    service: Callable[..., Any]
    describe: Callable[[Mapping[str, Any]], Target]
    permission: str
    amount: Callable[[Mapping[str, Any]], tuple[int, str]] | None = None
    always_checked: bool = False
    closed: Callable[[Mapping[str, Any], str, Any], None] | None = None


# The actions compliance registers itself (apps.compliance.actions).
ACCOUNT_FREEZE = "ledger.account_freeze"
ACCOUNT_UNFREEZE = "ledger.account_unfreeze"
ADJUSTMENT = "ledger.adjustment"
POLICY_CHANGE = "compliance.policy_change"
MERCHANT_ACCOUNTS_FREEZE = "compliance.merchant_accounts_freeze"
# Requesting and executing these publishes compliance.freeze_requested / compliance.freeze_executed.
FREEZE_ACTIONS = frozenset({ACCOUNT_FREEZE, MERCHANT_ACCOUNTS_FREEZE})

# Until an operator sets a policy: every action needs one checker, and a request waits 72 hours.
DEFAULT_EXPIRY_HOURS = 72
DEFAULT_APPROVALS_REQUIRED = 1
MAX_APPROVALS_REQUIRED = 3
MAX_EXPIRY_HOURS = 24 * 30


# --- alerts and cases -----------------------------------------------------------------------


class SubjectType:
    """Whom or what an alert is about; alerts about the same subject group into one open case."""

    MERCHANT = "merchant"
    WALLET = "wallet"  # a customer's wallet: a ledger account (acc_…)
    PAYMENT = "payment"
    PAYOUT = "payout"
    COUNTERPARTY = "counterparty"  # a card fingerprint, an IBAN, a payer or beneficiary name

    CHOICES = (
        (MERCHANT, "Merchant"), (WALLET, "Customer wallet"), (PAYMENT, "Payment"), (PAYOUT, "Payout"),
        (COUNTERPARTY, "Counterparty"),
    )


class Severity:
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    CHOICES = ((LOW, "Low"), (MEDIUM, "Medium"), (HIGH, "High"), (CRITICAL, "Critical"))
    RANK = {LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4}
    # How long a case of this severity may stay open before it is overdue (CBB FC: alerts are
    # reviewed "promptly"; these are the institution's own service levels, documented in the README).
    SLA = {LOW: timedelta(days=30), MEDIUM: timedelta(days=10), HIGH: timedelta(days=3), CRITICAL: timedelta(days=1)}

    @classmethod
    def higher(cls, first: str, second: str) -> str:
        return first if cls.RANK[first] >= cls.RANK[second] else second


@dataclass(frozen=True, slots=True)
class Subject:
    """What an alert is about, as the officer reads it: ``id`` is the subject's own identifier
    (a merchant's or wallet's uuid, a card fingerprint, an IBAN); ``label`` is what the admin shows."""

    type: str
    id: str
    label: str
    merchant_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """An object kept from going on until an officer releases or declines it from the alert:
    ``object_type`` is one a hold handler is registered for ("payments.payment", "payments.payout");
    a hold nobody reviewed by ``due_at`` follows its rule's default (decline)."""

    object_type: str
    object_id: str
    due_at: datetime


# --- monitoring: what it watches ----------------------------------------------------------


class ObservationKind:
    PAYMENT = "payment"
    REFUND = "refund"
    PAYOUT = "payout"
    TRANSFER = "transfer"  # a merchant's transfer between customer wallets (the ledger API)

    CHOICES = ((PAYMENT, "Payment"), (REFUND, "Refund"), (PAYOUT, "Payout"), (TRANSFER, "Wallet transfer"))


@dataclass(frozen=True, slots=True)
class Observation:
    """One movement of money. ``source`` and ``source_id`` name it ("payments.payment", its uuid):
    it is recorded once, and a rule alerts on it once, however often it is evaluated.

    ``country`` is the payer's (a payment) or the beneficiary's (a payout); ``wallet`` the
    customer wallet's ledger account id; ``card_fingerprint`` a digest of the card token;
    ``iban`` and ``counterparty_name`` the other party's, where the method has them."""

    source: str
    source_id: str
    kind: str
    merchant_id: UUID | None
    livemode: bool
    amount: int
    currency: str
    occurred_at: datetime
    method: str = ""
    country: str = ""
    wallet: str = ""
    card_fingerprint: str = ""
    iban: str = ""
    counterparty_name: str = ""
