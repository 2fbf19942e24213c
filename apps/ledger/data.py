"""The ledger's vocabulary for other apps: its chart of accounts, what a transfer request says
and what came of it."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple
from uuid import UUID

from apps.core.currencies import is_currency

# Client ids fincore gives its own transfers in a merchant's namespace (an expiry of the
# merchant's hold) start with this; callers may not use it, so they can never block one.
RESERVED_CLIENT_ID_PREFIX = "fincore:"


# --- the chart of accounts ------------------------------------------------------------------


class Owner(StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    SYSTEM = "system"


OWNER_LABELS: Mapping[Owner, str] = MappingProxyType({
    Owner.CUSTOMER: "Customer (a merchant's wallet or funding account)",
    Owner.MERCHANT: "Merchant (its settlement accounts)",
    Owner.SYSTEM: "System (fincore's own)",
})


class AccountRole(StrEnum):
    """What an account is for. The value is the account's ``code``."""

    WALLET = "wallet"
    FUNDING = "funding"
    MERCHANT_PENDING = "merchant_pending"
    MERCHANT_AVAILABLE = "merchant_available"
    MERCHANT_RESERVE = "merchant_reserve"
    CONNECTOR_CLEARING = "connector_clearing"
    NOSTRO = "nostro"
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"
    FEE_REVENUE = "fee_revenue"
    FX_POSITION = "fx_position"
    SUSPENSE = "suspense"
    ROUNDING = "rounding"


class Per(StrEnum):
    """How many accounts a role has in each currency and mode."""

    CUSTOMER = "customer"  # as many as a merchant opens through the API, each known by its id only
    MERCHANT = "merchant"  # one per merchant
    CONNECTOR = "connector"  # one per connector; the account's ``name`` is the connector
    BANK_ACCOUNT = "bank_account"  # one per bank account; the account's ``name`` is the bank account
    LEDGER = "ledger"  # one


@dataclass(frozen=True, slots=True)
class RoleRules:
    label: str
    owner: Owner
    per: Per
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False

    @property
    def named(self) -> bool:
        """Whether an account of the role is told apart from its siblings by a ``name``."""
        return self.per in (Per.CONNECTOR, Per.BANK_ACCOUNT)


# DESIGN.md's chart of accounts. Customer accounts never owe (a wallet), or may (a funding
# account, test money only); a merchant's accounts hold what fincore owes it and never turn
# into a debt of the merchant's: a refund larger than pending takes the rest from available.
CHART: Mapping[AccountRole, RoleRules] = MappingProxyType({
    AccountRole.WALLET: RoleRules("Customer wallet", Owner.CUSTOMER, Per.CUSTOMER,
                                  debits_must_not_exceed_credits=True),
    AccountRole.FUNDING: RoleRules("Funding account (may go negative)", Owner.CUSTOMER, Per.CUSTOMER),
    AccountRole.MERCHANT_PENDING: RoleRules("Merchant pending", Owner.MERCHANT, Per.MERCHANT,
                                            debits_must_not_exceed_credits=True),
    AccountRole.MERCHANT_AVAILABLE: RoleRules("Merchant available", Owner.MERCHANT, Per.MERCHANT,
                                              debits_must_not_exceed_credits=True),
    AccountRole.MERCHANT_RESERVE: RoleRules("Merchant reserve", Owner.MERCHANT, Per.MERCHANT,
                                            debits_must_not_exceed_credits=True),
    AccountRole.CONNECTOR_CLEARING: RoleRules("Connector clearing", Owner.SYSTEM, Per.CONNECTOR),
    AccountRole.NOSTRO: RoleRules("Nostro (bank account)", Owner.SYSTEM, Per.BANK_ACCOUNT),
    AccountRole.PAYOUTS_IN_TRANSIT: RoleRules("Payouts in transit", Owner.SYSTEM, Per.LEDGER),
    AccountRole.FEE_REVENUE: RoleRules("Fee revenue", Owner.SYSTEM, Per.LEDGER),
    AccountRole.FX_POSITION: RoleRules("FX position", Owner.SYSTEM, Per.LEDGER),
    AccountRole.SUSPENSE: RoleRules("Suspense (unexplained breaks)", Owner.SYSTEM, Per.LEDGER),
    # Fees are charged per payment, each rounded once; the day's exact fee total rounded once may
    # differ by a few minor units, and that difference is posted here against fee revenue.
    AccountRole.ROUNDING: RoleRules("Rounding differences", Owner.SYSTEM, Per.LEDGER),
})

MERCHANT_ROLES = tuple(role for role, rules in CHART.items() if rules.owner is Owner.MERCHANT)

# What a manual adjustment may move money between: a break parked in suspense, fee revenue, and a
# merchant's own accounts. Never a customer's wallet, a connector's clearing or a nostro: those
# mirror money outside fincore, and only a statement or a payment moves them.
ADJUSTABLE_ROLES = frozenset({AccountRole.SUSPENSE, AccountRole.FEE_REVENUE, *MERCHANT_ROLES})


class AdjustmentReason(StrEnum):
    """Why a manual adjustment was posted: the ``code`` it is filed under, one per kind of fix."""

    FEE_CORRECTION = "fee_correction"
    FEE_WAIVER = "fee_waiver"
    SUSPENSE_CLEARANCE = "suspense_clearance"
    RESERVE_RELEASE = "reserve_release"
    RESERVE_HOLD = "reserve_hold"
    POSTING_ERROR = "posting_error"


ADJUSTMENT_REASON_LABELS: Mapping[AdjustmentReason, str] = MappingProxyType({
    AdjustmentReason.FEE_CORRECTION: "Fee charged wrongly (refund or charge the difference)",
    AdjustmentReason.FEE_WAIVER: "Fee waived by a commercial decision",
    AdjustmentReason.SUSPENSE_CLEARANCE: "Clearing an explained item out of suspense",
    AdjustmentReason.RESERVE_RELEASE: "Releasing a merchant's reserve",
    AdjustmentReason.RESERVE_HOLD: "Holding more of a merchant's money in reserve",
    AdjustmentReason.POSTING_ERROR: "Correcting an earlier posting error",
})
ACCOUNT_NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class AccountRef:
    """The account of a role, named by what it is rather than by its id: a merchant's pending
    account in BHD, the card connector's clearing account in test money. A transfer may name
    its debit or credit account so (``debit_account_ref``); the posting engine finds it, or
    opens it in the posting's transaction, empty and with its role's rules.

    Customer accounts are opened by their merchant and named by id only. Raises ValueError
    for a reference no account could answer.
    """

    role: AccountRole
    currency: str
    livemode: bool
    merchant_id: UUID | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", AccountRole(self.role))
        rules = CHART[self.role]
        if rules.per is Per.CUSTOMER:
            raise ValueError(f"a {self.role} account is named by its id, not by its role")
        if not is_currency(self.currency):
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")
        if rules.owner is Owner.MERCHANT and self.merchant_id is None:
            raise ValueError(f"a {self.role} account is a merchant's: name the merchant")
        if rules.owner is not Owner.MERCHANT and self.merchant_id is not None:
            raise ValueError(f"a {self.role} account is fincore's own, not a merchant's")
        if rules.named and not self.name:
            raise ValueError(f"a {self.role} account is one per {rules.per.replace('_', ' ')}: name it")
        if not rules.named and self.name:
            raise ValueError(f"a {self.role} account takes no name")
        if len(self.name) > ACCOUNT_NAME_MAX_LENGTH:
            raise ValueError(f"an account's name has at most {ACCOUNT_NAME_MAX_LENGTH} characters")

    @property
    def rules(self) -> RoleRules:
        return CHART[self.role]


# --- transfers -------------------------------------------------------------------------------


class Kind(StrEnum):
    IMMEDIATE = "immediate"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"
    EXPIRE_PENDING = "expire_pending"


RESOLUTIONS = frozenset({Kind.POST_PENDING, Kind.VOID_PENDING, Kind.EXPIRE_PENDING})
# What a reversal may undo: money that actually moved.
REVERSIBLE = frozenset({Kind.IMMEDIATE, Kind.POST_PENDING})


class Result(StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    SAME_ACCOUNT = "same_account"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    ACCOUNT_FROZEN = "account_frozen"
    ACCOUNT_CLOSED = "account_closed"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS = "overflows"
    PENDING_NOT_FOUND = "pending_not_found"
    NOT_PENDING = "not_pending"
    PENDING_ALREADY_RESOLVED = "pending_already_resolved"
    PENDING_EXPIRED = "pending_expired"
    PENDING_NOT_EXPIRED = "pending_not_expired"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    TIMEOUT_REQUIRES_PENDING = "timeout_requires_pending"
    TIMEOUT_MUST_BE_POSITIVE = "timeout_must_be_positive"
    REVERSED_NOT_FOUND = "reversed_transfer_not_found"
    NOT_REVERSIBLE = "not_reversible"
    ALREADY_REVERSED = "already_reversed"


SUCCESSES = frozenset({Result.OK, Result.EXISTS})


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One requested transfer.

    Each side names its account by id or, for an account of the chart's (not a customer's), by
    role (``debit_account_ref``), never both. For a post, void or expiry the accounts, currency
    and (by default) amount come from the pending transfer; for a reversal, from the transfer
    reversed. ``merchant_scope``, when set, confines the transfer to that merchant's customer
    accounts and transfers (API callers): anything else is reported as not found.
    """

    client_id: str
    kind: Kind = Kind.IMMEDIATE
    debit_account_id: UUID | None = None
    credit_account_id: UUID | None = None
    debit_account_ref: AccountRef | None = None
    credit_account_ref: AccountRef | None = None
    amount: int | None = None
    currency: str | None = None
    merchant_id: UUID | None = None
    merchant_scope: bool = False
    # Live or test money: a transfer only sees accounts and transfers of its own mode.
    livemode: bool = True
    pending_id: UUID | None = None
    reverses_id: UUID | None = None
    timeout_seconds: int | None = None
    code: str = ""
    reference: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    effective_at: datetime | None = None
    linked: bool = False
    created_by: str = ""

    def __post_init__(self) -> None:
        if (self.debit_account_ref is not None and self.debit_account_id is not None) or (
            self.credit_account_ref is not None and self.credit_account_id is not None
        ):
            raise ValueError("a transfer names each of its accounts by id or by role, not both")


class NewTransfer(NamedTuple):
    """A transfer as a batch writes it: its spec, with the accounts, amount, code and reference
    its pending or reversed transfer filled in. The batch stamps ``created_at`` (and
    ``effective_at`` unless the spec gives one)."""

    id: UUID
    spec: TransferSpec
    debit_account_id: UUID
    credit_account_id: UUID
    currency: str
    amount: int
    expires_at: datetime | None
    code: str
    reference: str


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    transfer_id: UUID | None = None
    # A transfer this batch posted (Result.OK): what it wrote and its timestamp, so that the
    # caller need not read the row back. None for every other result, EXISTS included (an earlier
    # request wrote that transfer).
    written: NewTransfer | None = field(default=None, compare=False, repr=False)
    written_at: datetime | None = field(default=None, compare=False, repr=False)
