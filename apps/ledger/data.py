"""The ledger's vocabulary for other apps: what a transfer request says and what came of it."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

# Client ids fincore gives its own transfers in a merchant's namespace (an expiry of the
# merchant's hold) start with this; callers may not use it, so they can never block one.
RESERVED_CLIENT_ID_PREFIX = "fincore:"


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

    For a post, void or expiry the accounts, currency and (by default) amount come from the
    pending transfer; for a reversal, from the transfer reversed. ``merchant_scope``, when set,
    confines the transfer to that merchant's customer accounts and transfers (API callers):
    anything else is reported as not found.
    """

    client_id: str
    kind: Kind = Kind.IMMEDIATE
    debit_account_id: UUID | None = None
    credit_account_id: UUID | None = None
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


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    transfer_id: UUID | None = None
