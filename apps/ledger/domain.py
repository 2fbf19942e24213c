"""The posting rules, as pure Python: what a batch of transfers does to the accounts it touches.

The engine locks the accounts, hands their state here with the batch, and writes back what
comes out. Nothing here touches the database, so the rules can be tested exhaustively.

The model is TigerBeetle's. An account has four non-negative counters — debits and credits,
each *pending* (held by an unresolved pending transfer) or *posted*. A transfer moves
``amount`` from its debit account to its credit account and is one of:

- immediate: debits_posted and credits_posted grow by the amount;
- pending (a hold): debits_pending and credits_pending grow; it may expire at ``expires_at``;
- post_pending: the hold ends and its amount, or less, is posted;
- void_pending / expire_pending: the hold ends and nothing is posted.

An account may refuse to owe: ``debits_must_not_exceed_credits`` (a wallet: it never spends
more than it holds, holds included) or the mirror ``credits_must_not_exceed_debits``.
Transfers marked ``linked`` succeed or fail with the rest of their chain (up to and including
the first transfer not marked linked). A reversal is an immediate transfer back, pointing at
what it reverses. Each transfer's outcome is a :class:`Result`; a refused transfer changes
nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from apps.ledger.data import RESOLUTIONS, REVERSIBLE, Kind, NewTransfer, Outcome, Result, TransferSpec

MAX_BALANCE = 2**63 - 1  # a PostgreSQL bigint


@dataclass(slots=True)
class AccountState:
    id: UUID
    currency: str
    livemode: bool
    merchant_id: UUID | None
    customer_owned: bool
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    frozen: bool
    closed: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


@dataclass(frozen=True, slots=True)
class KnownTransfer:
    """A transfer already in the ledger, as far as the rules need it."""

    id: UUID
    livemode: bool
    merchant_id: UUID | None
    client_id: str
    kind: Kind
    debit_account_id: UUID
    credit_account_id: UUID
    currency: str
    amount: int
    pending_id: UUID | None
    reverses_id: UUID | None
    expires_at: datetime | None
    code: str
    reference: str
    metadata: Mapping[str, Any]
    created_at: datetime


class _Parties(NamedTuple):
    """What a spec moves, once its pending or reversed transfer has filled in the blanks."""

    debit_account_id: UUID | None
    credit_account_id: UUID | None
    currency: str | None
    amount: int
    released: int  # the hold a resolution ends
    code: str
    reference: str


class NewEntry(NamedTuple):
    account_id: UUID
    transfer_id: UUID
    side: str  # "D" or "C"
    pending_change: int
    posted_change: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


@dataclass
class Plan:
    """What a batch does: an outcome per spec, the rows to write and the accounts' new state."""

    outcomes: list[Outcome]
    transfers: list[NewTransfer]
    entries: list[NewEntry]
    accounts: dict[UUID, AccountState]


# Client ids are unique per merchant (None: fincore's own) and mode.
ClientKey = tuple[UUID | None, bool, str]


def client_key(spec: TransferSpec) -> ClientKey:
    return (spec.merchant_id, spec.livemode, spec.client_id)


# A client key as a batch keeps its own transfers by: the merchant as its UUID's integer, which
# hashes in C (a UUID hashes in Python, and a batch looks each of its keys up several times).
_ClaimKey = tuple[str, bool, int | None]


def _claim_key(spec: TransferSpec) -> _ClaimKey:
    merchant_id = spec.merchant_id
    return (spec.client_id, spec.livemode, None if merchant_id is None else merchant_id.int)


class _Refused(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


def _timeout_seconds(known: KnownTransfer) -> int | None:
    """The timeout a transfer was asked with: its expiry less its creation, in whole seconds."""
    if known.expires_at is None:
        return None
    return round((known.expires_at - known.created_at).total_seconds())


def _same_json(asked: Any, stored: Any) -> bool:
    """JSON equality as jsonb keeps values: numbers by value (jsonb may write back 1e+20 as
    100000000000000000000), but ``true`` is not ``1`` as it is to Python's ``==``."""
    if isinstance(asked, Mapping):
        return isinstance(stored, Mapping) and asked.keys() == stored.keys() and all(
            _same_json(value, stored[key]) for key, value in asked.items()
        )
    if isinstance(asked, list | tuple):
        return isinstance(stored, list | tuple) and len(asked) == len(stored) and all(map(_same_json, asked, stored))
    if isinstance(asked, bool) or isinstance(stored, bool):
        return asked is stored
    return asked == stored


def _same_request(spec: TransferSpec, known: KnownTransfer, transfers: Mapping[UUID, KnownTransfer]) -> bool:
    """Whether a retried spec asks for what the transfer with its client id already did: the same
    accounts, amount, timeout, metadata, code and reference. A post, void or reversal sent without
    code or reference took its original's: blanks match. A post without amount asked for the
    whole hold (``transfers`` holds the pending), so it does not match an earlier partial post."""
    inherits = spec.kind in RESOLUTIONS or spec.reverses_id is not None
    amount = spec.amount
    if spec.kind == Kind.POST_PENDING and amount is None:
        pending = transfers.get(spec.pending_id) if spec.pending_id is not None else None
        if pending is None:
            return False
        amount = pending.amount
    return (
        spec.kind == known.kind
        and spec.debit_account_id in (None, known.debit_account_id)
        and spec.credit_account_id in (None, known.credit_account_id)
        and amount in (None, known.amount)
        and spec.currency in (None, known.currency)
        and spec.pending_id == known.pending_id
        and spec.reverses_id == known.reverses_id
        and spec.timeout_seconds == _timeout_seconds(known)
        and (spec.code == known.code or (inherits and not spec.code))
        and (spec.reference == known.reference or (inherits and not spec.reference))
        and _same_json(spec.metadata, known.metadata)
    )


class _Batch:
    def __init__(
        self,
        *,
        accounts: Mapping[UUID, AccountState],
        known: Mapping[UUID, KnownTransfer],
        existing: Mapping[ClientKey, KnownTransfer],
        resolved_pending_ids: set[UUID],
        reversed_ids: set[UUID],
        now: datetime,
        new_id: Any,
        expired_pending_ids: set[UUID],
    ) -> None:
        self.accounts = dict(accounts)
        # Account states this batch has copied and may change in place (the caller's never are),
        # by id() (a UUID hashes in Python, an int in C): each is alive in self.accounts.
        self.owned: set[int] = set()
        # The copies a posted transfer moved money on, by id(), in the order first posted to.
        self.touched: dict[int, AccountState] = {}
        self.known = dict(known)
        self.existing = dict(existing)
        # Transfers this batch has posted, by client key, for a later duplicate in the batch.
        self.claimed: dict[_ClaimKey, NewTransfer] = {}
        self.resolved = set(resolved_pending_ids)
        self.expired = set(expired_pending_ids)
        self.reversed = set(reversed_ids)
        self.now = now
        self.new_id = new_id
        self.transfers: list[NewTransfer] = []
        self.entries: list[NewEntry] = []

    # --- one transfer ------------------------------------------------------------------
    def _account(self, account_id: UUID | None, spec: TransferSpec, missing: Result) -> AccountState:
        """The account as the batch so far left it."""
        account = self.accounts.get(account_id) if account_id is not None else None
        # Test and live money never meet: an account of the other mode is not found.
        if account is None or account.livemode != spec.livemode or (
            spec.merchant_scope and (not account.customer_owned or account.merchant_id != spec.merchant_id)
        ):
            raise _Refused(missing)
        return account

    def _referenced(self, transfer_id: UUID | None, spec: TransferSpec, missing: Result) -> KnownTransfer:
        known = self.known.get(transfer_id) if transfer_id is not None else None
        if known is None or known.livemode != spec.livemode or (
            spec.merchant_scope and known.merchant_id != spec.merchant_id
        ):
            raise _Refused(missing)
        return known

    def _resolve_parties(self, spec: TransferSpec) -> _Parties:
        """What the spec moves, filled in from the pending transfer it resolves (accounts,
        currency, amount by default, code and reference when blank) or the transfer it reverses."""
        if spec.timeout_seconds is not None and spec.timeout_seconds <= 0:
            raise _Refused(Result.TIMEOUT_MUST_BE_POSITIVE)
        if spec.kind in RESOLUTIONS:
            pending = self._referenced(spec.pending_id, spec, Result.PENDING_NOT_FOUND)
            if pending.kind != Kind.PENDING:
                raise _Refused(Result.NOT_PENDING)
            if pending.id in self.resolved:
                # As TigerBeetle: a hold that ended by expiry answers "expired" to a late post or void.
                if pending.id in self.expired and spec.kind != Kind.EXPIRE_PENDING:
                    raise _Refused(Result.PENDING_EXPIRED)
                raise _Refused(Result.PENDING_ALREADY_RESOLVED)
            expired = pending.expires_at is not None and pending.expires_at <= self.now
            if spec.kind == Kind.EXPIRE_PENDING and not expired:
                raise _Refused(Result.PENDING_NOT_EXPIRED)
            if spec.kind != Kind.EXPIRE_PENDING and expired:
                raise _Refused(Result.PENDING_EXPIRED)
            if spec.timeout_seconds is not None:
                raise _Refused(Result.TIMEOUT_REQUIRES_PENDING)
            amount = pending.amount
            if spec.kind == Kind.POST_PENDING and spec.amount is not None:
                if spec.amount <= 0:
                    raise _Refused(Result.AMOUNT_MUST_BE_POSITIVE)
                if spec.amount > pending.amount:
                    raise _Refused(Result.EXCEEDS_PENDING_AMOUNT)
                amount = spec.amount
            return _Parties(pending.debit_account_id, pending.credit_account_id, pending.currency, amount,
                            pending.amount, spec.code or pending.code, spec.reference or pending.reference)
        if spec.reverses_id is not None:
            reversed_transfer = self._referenced(spec.reverses_id, spec, Result.REVERSED_NOT_FOUND)
            if spec.kind != Kind.IMMEDIATE or reversed_transfer.kind not in REVERSIBLE:
                raise _Refused(Result.NOT_REVERSIBLE)
            if reversed_transfer.id in self.reversed:
                raise _Refused(Result.ALREADY_REVERSED)
            return _Parties(reversed_transfer.credit_account_id, reversed_transfer.debit_account_id,
                            reversed_transfer.currency, reversed_transfer.amount, 0,
                            spec.code or reversed_transfer.code, spec.reference or reversed_transfer.reference)
        if spec.amount is None or spec.amount <= 0:
            raise _Refused(Result.AMOUNT_MUST_BE_POSITIVE)
        if spec.timeout_seconds is not None and spec.kind != Kind.PENDING:
            raise _Refused(Result.TIMEOUT_REQUIRES_PENDING)
        return _Parties(spec.debit_account_id, spec.credit_account_id, spec.currency, spec.amount, 0, spec.code,
                        spec.reference)

    def _own(self, account: AccountState) -> AccountState:
        """This batch's own copy of the account, made on first change."""
        if id(account) in self.owned:
            return account
        copy = AccountState(
            account.id, account.currency, account.livemode, account.merchant_id, account.customer_owned,
            account.debits_must_not_exceed_credits, account.credits_must_not_exceed_debits, account.frozen,
            account.closed, account.debits_pending, account.debits_posted, account.credits_pending,
            account.credits_posted,
        )
        self.accounts[account.id] = copy
        self.owned.add(id(copy))
        return copy

    def _apply(self, spec: TransferSpec, undo: list, staged: list) -> UUID:
        """Apply one spec to the batch's accounts; returns the new transfer id. Everything is
        checked before anything changes; what changes is noted in ``undo`` for the chain."""
        parties = self._resolve_parties(spec)
        debit_id, credit_id, currency = parties.debit_account_id, parties.credit_account_id, parties.currency
        amount, released = parties.amount, parties.released
        if debit_id is not None and debit_id == credit_id:
            raise _Refused(Result.SAME_ACCOUNT)
        debit = self._account(debit_id, spec, Result.DEBIT_ACCOUNT_NOT_FOUND)
        credit = self._account(credit_id, spec, Result.CREDIT_ACCOUNT_NOT_FOUND)
        if not (debit.currency == credit.currency == currency):
            raise _Refused(Result.CURRENCY_MISMATCH)
        kind = spec.kind
        if kind is not Kind.VOID_PENDING and kind is not Kind.EXPIRE_PENDING:
            # Ending a hold moves no money, so it is allowed on a closed or frozen account.
            if debit.closed or credit.closed:
                raise _Refused(Result.ACCOUNT_CLOSED)
            if debit.frozen or credit.frozen:
                raise _Refused(Result.ACCOUNT_FROZEN)

        if kind is Kind.IMMEDIATE:
            pending_change, posted_change = 0, amount
        elif kind is Kind.PENDING:
            pending_change, posted_change = amount, 0
        elif kind is Kind.POST_PENDING:
            pending_change, posted_change = -released, amount
        else:  # void or expiry
            pending_change, posted_change = -released, 0
        debits_pending = debit.debits_pending + pending_change
        debits_posted = debit.debits_posted + posted_change
        credits_pending = credit.credits_pending + pending_change
        credits_posted = credit.credits_posted + posted_change
        debit_total = debits_pending + debits_posted
        credit_total = credits_pending + credits_posted
        if debit_total > MAX_BALANCE or credit_total > MAX_BALANCE:
            raise _Refused(Result.OVERFLOWS)
        # Ending a hold only lowers a side's total, so it can never break these rules.
        if debit.debits_must_not_exceed_credits and debit_total > debit.credits_posted:
            raise _Refused(Result.EXCEEDS_CREDITS)
        if credit.credits_must_not_exceed_debits and credit_total > credit.debits_posted:
            raise _Refused(Result.EXCEEDS_DEBITS)

        debit, credit = self._own(debit), self._own(credit)
        undo.append((debit, debit.debits_pending, debit.debits_posted, credit, credit.credits_pending,
                     credit.credits_posted))
        debit.debits_pending, debit.debits_posted = debits_pending, debits_posted
        credit.credits_pending, credit.credits_posted = credits_pending, credits_posted

        transfer_id = self.new_id()
        expires_at = (
            self.now + timedelta(seconds=spec.timeout_seconds)
            if kind is Kind.PENDING and spec.timeout_seconds
            else None
        )
        staged.append(
            (
                NewTransfer(transfer_id, spec, debit.id, credit.id, currency, amount, expires_at, parties.code,
                            parties.reference),
                NewEntry(debit.id, transfer_id, "D", pending_change, posted_change, debits_pending,
                         debits_posted, debit.credits_pending, debit.credits_posted),
                NewEntry(credit.id, transfer_id, "C", pending_change, posted_change, credit.debits_pending,
                         credit.debits_posted, credits_pending, credits_posted),
                debit,
                credit,
            )
        )
        return transfer_id

    # --- chains ------------------------------------------------------------------------
    def run_chain(self, chain: Sequence[TransferSpec], *, open_chain: bool) -> list[Outcome]:
        """Apply a chain (one spec, or linked specs): all of it, or none of it."""
        if open_chain:
            return self._failed(chain, len(chain) - 1, Result.LINKED_EVENT_CHAIN_OPEN)
        undo: list = []
        staged: list = []
        outcomes: list[Outcome] = []
        claimed: dict[_ClaimKey, NewTransfer] = {}
        marked: list[tuple[set[UUID], UUID]] = []
        for index, spec in enumerate(chain):
            key = _claim_key(spec)
            known = self.existing.get(client_key(spec)) if self.existing else None
            if known is None:
                earlier = claimed.get(key) or self.claimed.get(key)
                known = self._known(earlier) if earlier is not None else None
            failure = None
            if known is not None:
                if _same_request(spec, known, self.known):
                    outcomes.append(Outcome(Result.EXISTS, known.id))
                    continue
                failure = Result.EXISTS_WITH_DIFFERENT_FIELDS
            else:
                try:
                    transfer_id = self._apply(spec, undo, staged)
                except _Refused as refused:
                    failure = refused.result
            if failure is not None:
                # Undo the chain: balances first, then what it marked resolved or reversed.
                for debit, debits_pending, debits_posted, credit, credits_pending, credits_posted in reversed(undo):
                    debit.debits_pending, debit.debits_posted = debits_pending, debits_posted
                    credit.credits_pending, credit.credits_posted = credits_pending, credits_posted
                for consumed, transfer_ref in marked:
                    consumed.discard(transfer_ref)
                return self._failed(chain, index, failure)
            written = staged[-1][0]
            claimed[key] = written
            # Later members of the chain (and later chains) see the pending as resolved, the
            # transfer as reversed.
            if spec.kind in RESOLUTIONS:
                marked.append((self.resolved, spec.pending_id))
                if spec.kind is Kind.EXPIRE_PENDING:
                    marked.append((self.expired, spec.pending_id))
            if spec.reverses_id is not None:
                marked.append((self.reversed, spec.reverses_id))
            for consumed, transfer_ref in marked:
                consumed.add(transfer_ref)
            outcomes.append(Outcome(Result.OK, transfer_id, written=written, written_at=self.now))

        for transfer, debit_entry, credit_entry, debit, credit in staged:
            self.transfers.append(transfer)
            self.entries += (debit_entry, credit_entry)
            self.touched[id(debit)] = debit
            self.touched[id(credit)] = credit
        self.claimed.update(claimed)
        return outcomes

    @staticmethod
    def _failed(chain: Sequence[TransferSpec], failed_at: int, result: Result) -> list[Outcome]:
        """The failing spec gets its own result, the rest of its chain linked_event_failed."""
        return [
            Outcome(result if index == failed_at else Result.LINKED_EVENT_FAILED) for index in range(len(chain))
        ]

    def _known(self, transfer: NewTransfer) -> KnownTransfer:
        spec = transfer.spec
        return KnownTransfer(
            id=transfer.id, livemode=spec.livemode, merchant_id=spec.merchant_id, client_id=spec.client_id,
            kind=spec.kind,
            debit_account_id=transfer.debit_account_id, credit_account_id=transfer.credit_account_id,
            currency=transfer.currency, amount=transfer.amount, pending_id=spec.pending_id,
            reverses_id=spec.reverses_id, expires_at=transfer.expires_at, code=transfer.code,
            reference=transfer.reference, metadata=spec.metadata, created_at=self.now,
        )


def chains(specs: Sequence[TransferSpec]) -> list[tuple[int, int]]:
    """(start, end) index ranges of the batch's chains: a run of linked specs and the first
    unlinked one after it; a run still linked at the end of the batch is an open chain."""
    ranges, start = [], 0
    for index, spec in enumerate(specs):
        if not spec.linked:
            ranges.append((start, index + 1))
            start = index + 1
    if start < len(specs):
        ranges.append((start, len(specs)))
    return ranges


def plan_batch(
    specs: Sequence[TransferSpec],
    *,
    accounts: Mapping[UUID, AccountState],
    known: Mapping[UUID, KnownTransfer],
    existing: Mapping[ClientKey, KnownTransfer],
    resolved_pending_ids: set[UUID],
    reversed_ids: set[UUID],
    now: datetime,
    new_id: Any,
    expired_pending_ids: set[UUID] = frozenset(),
) -> Plan:
    """Apply ``specs`` in order to the given account states.

    ``known`` holds the transfers the specs refer to (pendings, reversed transfers);
    ``existing`` the transfers already recorded under the specs' client ids;
    ``resolved_pending_ids`` / ``reversed_ids`` which of ``known`` are already resolved or
    reversed, and ``expired_pending_ids`` which of the resolved ended by expiry; ``new_id()``
    makes a transfer id. Nothing given is modified.
    """
    batch = _Batch(
        accounts=accounts, known=known, existing=existing, resolved_pending_ids=resolved_pending_ids,
        reversed_ids=reversed_ids, now=now, new_id=new_id, expired_pending_ids=expired_pending_ids,
    )
    outcomes: list[Outcome] = []
    for start, end in chains(specs):
        chain = specs[start:end]
        outcomes += batch.run_chain(chain, open_chain=chain[-1].linked)
    return Plan(
        outcomes=outcomes,
        transfers=batch.transfers,
        entries=batch.entries,
        accounts={account.id: account for account in batch.touched.values()},
    )
