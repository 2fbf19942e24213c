"""Opening accounts and moving money. Every transfer goes through the posting engine.

Refusals raise a :class:`TransferRefused` subclass whose ``code`` is the engine's result
(``exceeds_credits`` on a customer wallet reads ``insufficient_funds``); nothing is written
then. A retry with the same client id returns the first transfer instead of posting again.
"""

from collections.abc import Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.core.currencies import is_currency
from apps.core.exceptions import FincoreError
from apps.core.ids import uuid7
from apps.ledger import data, engine, selectors
from apps.ledger.group_commit import committer
from apps.ledger.models import Account, Transfer, Verification, Watermark

Kind = data.Kind
Result = data.Result

class InvalidAccount(FincoreError):
    code = "invalid_account"
    title = "The account's details are not valid"
    status = 400


class TransferRefused(FincoreError):
    """The engine refused a transfer; ``code`` is its result."""

    status = 422
    result: Result


_REFUSAL_TITLES = {
    Result.EXISTS_WITH_DIFFERENT_FIELDS: "A transfer with this client id exists with other fields",
    Result.LINKED_EVENT_FAILED: "Another transfer of the atomic batch was refused",
    Result.LINKED_EVENT_CHAIN_OPEN: "The last transfer of the batch is linked to nothing",
    Result.AMOUNT_MUST_BE_POSITIVE: "The amount must be a positive number of minor units",
    Result.SAME_ACCOUNT: "The debit and credit accounts are the same",
    Result.DEBIT_ACCOUNT_NOT_FOUND: "No such debit account",
    Result.CREDIT_ACCOUNT_NOT_FOUND: "No such credit account",
    Result.CURRENCY_MISMATCH: "The accounts and the transfer are not in one currency",
    Result.ACCOUNT_FROZEN: "An account of the transfer is frozen",
    Result.ACCOUNT_CLOSED: "An account of the transfer is closed",
    Result.EXCEEDS_CREDITS: "The debit account may not owe more than it holds",
    Result.EXCEEDS_DEBITS: "The credit account may not hold more than it owes",
    Result.OVERFLOWS: "A balance would exceed the largest amount the ledger records",
    Result.PENDING_NOT_FOUND: "No such pending transfer",
    Result.NOT_PENDING: "This transfer is not a pending transfer",
    Result.PENDING_ALREADY_RESOLVED: "The pending transfer was already posted, voided or expired",
    Result.PENDING_EXPIRED: "The pending transfer expired",
    Result.PENDING_NOT_EXPIRED: "The pending transfer has not expired",
    Result.EXCEEDS_PENDING_AMOUNT: "The amount to post exceeds the pending amount",
    Result.TIMEOUT_REQUIRES_PENDING: "Only a pending transfer takes a timeout",
    Result.TIMEOUT_MUST_BE_POSITIVE: "A timeout is a positive number of seconds",
    Result.REVERSED_NOT_FOUND: "No such transfer to reverse",
    Result.NOT_REVERSIBLE: "Only posted money can be reversed; void a pending transfer instead",
    Result.ALREADY_REVERSED: "The transfer was already reversed",
}

REFUSALS: dict[Result, type[TransferRefused]] = {
    result: type(
        "".join(part.title() for part in result.value.split("_")),
        (TransferRefused,),
        {"code": result.value, "title": title, "result": result, "__module__": __name__, "__doc__": title + "."},
    )
    for result, title in _REFUSAL_TITLES.items()
}


class LedgerBusy(FincoreError):
    """The transfer waited longer than its request may for its batch. It may still be posted:
    retry with the same client id or Idempotency-Key, which never posts twice."""

    code = "ledger_busy"
    title = "The ledger did not answer in time"
    status = 503
    retry_after = 1


class InsufficientFunds(TransferRefused):
    """The wallet's available balance (posted money less outgoing holds) is below the amount."""

    code = "insufficient_funds"
    title = "The account's available balance is too low"
    result = Result.EXCEEDS_CREDITS


@dataclass(frozen=True)
class Posted:
    transfer: Transfer
    # False when the client id was already used for the same transfer: nothing new happened.
    created: bool


def _debit_account_ids(specs: Sequence[data.TransferSpec]) -> list[UUID | None]:
    """Which account each spec debits: named, or that of the pending it resolves, or the credit
    account of the transfer it reverses (one query for all of them)."""
    referenced = Transfer.objects.in_bulk(
        [spec.pending_id or spec.reverses_id for spec in specs
         if spec.debit_account_id is None and spec.debit_account_ref is None]
    )
    debits = []
    for spec in specs:
        if spec.debit_account_id is not None or spec.debit_account_ref is not None:
            # An account named by role is never a customer's wallet.
            debits.append(spec.debit_account_id)
        elif spec.pending_id in referenced:
            debits.append(referenced[spec.pending_id].debit_account_id)
        elif spec.reverses_id in referenced:
            debits.append(referenced[spec.reverses_id].credit_account_id)
        else:
            debits.append(None)
    return debits


def _refusals(refused: Sequence[tuple[Result, data.TransferSpec]]) -> list[TransferRefused]:
    """The error for each refused spec; exceeds_credits on a customer wallet reads insufficient_funds."""
    if not refused:
        return []  # a batch posted whole: no query to build
    overdrawn = [spec for result, spec in refused if result == Result.EXCEEDS_CREDITS]
    debits = dict(zip(map(id, overdrawn), _debit_account_ids(overdrawn), strict=True))
    wallets = set(
        Account.objects.filter(pk__in=[d for d in debits.values() if d], code=data.AccountRole.WALLET)
        .values_list("pk", flat=True)
    )
    return [
        InsufficientFunds() if result == Result.EXCEEDS_CREDITS and debits[id(spec)] in wallets
        else REFUSALS[result]()
        for result, spec in refused
    ]


def _transfers(outcomes: Sequence[data.Outcome]) -> dict[UUID, Transfer]:
    """The transfers of the successful outcomes, by id: those the batch posted as it wrote them,
    those an earlier request posted (EXISTS) read back."""
    transfers = {o.transfer_id: Transfer.as_written(o.written, o.written_at) for o in outcomes if o.written}
    earlier = [o.transfer_id for o in outcomes if o.result == Result.EXISTS]
    if earlier:
        transfers.update(Transfer.objects.in_bulk(earlier))
    return transfers


def _posted(outcome: data.Outcome, spec: data.TransferSpec) -> Posted:
    if outcome.result not in data.SUCCESSES:
        raise _refusals([(outcome.result, spec)])[0]
    return Posted(_transfers([outcome])[outcome.transfer_id], created=outcome.result == Result.OK)


# --- accounts ------------------------------------------------------------------------------


def customer_account_open(
    *,
    merchant_id: UUID,
    currency: str,
    actor: Actor,
    livemode: bool = True,
    reference: str = "",
    metadata: Mapping[str, Any] | None = None,
    allow_overdraft: bool = False,
) -> Account:
    """Open a merchant's customer wallet (it never spends more than it holds) or, with
    ``allow_overdraft``, a funding account that may go negative. Raises InvalidAccount."""
    if not is_currency(currency):
        raise InvalidAccount(f"{currency!r} is not an ISO 4217 currency code")
    role = data.AccountRole.FUNDING if allow_overdraft else data.AccountRole.WALLET
    now = clock.now()
    with transaction.atomic():
        account = Account.objects.create(
            currency=currency,
            livemode=livemode,
            owner_type=data.Owner.CUSTOMER,
            merchant_id=merchant_id,
            code=role,
            reference=reference,
            metadata=dict(metadata or {}),
            debits_must_not_exceed_credits=data.CHART[role].debits_must_not_exceed_credits,
            created_at=now,
        )
        audit_record(
            actor=actor, action="ledger.account_opened", object_type="ledger.account", object_id=str(account.pk),
            after={"currency": currency, "livemode": livemode, "code": account.code, "reference": reference},
            merchant_id=str(merchant_id),
        )
    return account


def merchant_accounts_open(*, merchant_id: UUID, currencies: Sequence[str]) -> list[Account]:
    """A merchant's pending, available and reserve accounts in each currency, live and test,
    opened now where missing (idempotent, and race-safe: the unique constraint decides).

    A posting that names one of them by role opens it too; opening them with the merchant or
    its new currency shows them, empty, from the start. They hold what fincore owes the
    merchant and never turn into a debt of the merchant's (``debits_must_not_exceed_credits``).
    Two statements, whatever the number of currencies."""
    identities = [
        (currency, livemode, role) for currency in currencies for livemode in (True, False)
        for role in data.MERCHANT_ROLES
    ]
    now = clock.now()
    Account.objects.bulk_create(
        [
            Account(owner_type=data.Owner.MERCHANT, merchant_id=merchant_id, code=role, currency=currency,
                    livemode=livemode, created_at=now,
                    debits_must_not_exceed_credits=data.CHART[role].debits_must_not_exceed_credits,
                    credits_must_not_exceed_debits=data.CHART[role].credits_must_not_exceed_debits)
            for currency, livemode, role in identities
        ],
        ignore_conflicts=True,
    )
    # A new statement: it sees the accounts a concurrent opener committed while we waited on it.
    opened = {
        (account.currency, account.livemode, account.code): account
        for account in Account.objects.filter(owner_type=data.Owner.MERCHANT, merchant_id=merchant_id,
                                              currency__in=currencies)
    }
    return [opened[identity] for identity in identities]


class AccountFreezeUnchanged(FincoreError):
    code = "account_freeze_unchanged"
    title = "The account is already in that state"
    status = 409


class AdjustmentNotAllowed(FincoreError):
    code = "adjustment_not_allowed"
    title = "This manual adjustment is not allowed"
    status = 422


def _account_frozen_set(*, account_id: UUID, frozen: bool, actor: Actor, reason: str) -> Account:
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            raise InvalidAccount(f"There is no account {account_id}.")
        if account.frozen == frozen:
            raise AccountFreezeUnchanged(f"{account} is already {'frozen' if frozen else 'not frozen'}.")
        account.frozen = frozen
        account.save(update_fields=["frozen"])
        audit_record(
            actor=actor, action="ledger.account_frozen" if frozen else "ledger.account_unfrozen",
            object_type="ledger.account", object_id=str(account.pk), before={"frozen": not frozen},
            after={"frozen": frozen}, reason=reason, merchant_id=str(account.merchant_id or ""),
        )
    return account


def account_freeze(*, account_id: UUID, actor: Actor, reason: str) -> Account:
    """Freeze an account: the posting engine refuses every transfer that debits or credits it
    (ending a hold on it is still allowed). Raises InvalidAccount, AccountFreezeUnchanged."""
    return _account_frozen_set(account_id=account_id, frozen=True, actor=actor, reason=reason)


def account_unfreeze(*, account_id: UUID, actor: Actor, reason: str) -> Account:
    """Let a frozen account take transfers again. Raises InvalidAccount, AccountFreezeUnchanged."""
    return _account_frozen_set(account_id=account_id, frozen=False, actor=actor, reason=reason)


def adjustment_validate(
    *, debit_account_id: Any, credit_account_id: Any, amount: Any, currency: Any, reason_code: Any, note: Any,
) -> tuple[Account, Account]:
    """The debit and credit accounts of a manual adjustment, if it may be posted: both of
    ``data.ADJUSTABLE_ROLES`` (suspense, fee revenue, a merchant's), in its currency and one mode,
    a positive amount of minor units, a reason code and a note. Raises AdjustmentNotAllowed."""
    if reason_code not in data.AdjustmentReason.__members__.values():
        raise AdjustmentNotAllowed(f"{reason_code!r} is not an adjustment reason code.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise AdjustmentNotAllowed("The amount must be a positive number of minor units.")
    if not isinstance(note, str) or not note.strip():
        raise AdjustmentNotAllowed("Say what the adjustment corrects.")
    accounts = []
    for account_id in (debit_account_id, credit_account_id):
        account = selectors.account_get(account_id=account_id)
        if account is None:
            raise AdjustmentNotAllowed(f"There is no account {account_id}.")
        if account.code not in data.ADJUSTABLE_ROLES:
            raise AdjustmentNotAllowed(
                f"{account} is a {account.get_code_display()} account: adjustments move money only between "
                "suspense, fee revenue and merchants' accounts."
            )
        if account.currency != currency:
            raise AdjustmentNotAllowed(f"{account} is in {account.currency}, not {currency}.")
        accounts.append(account)
    debit, credit = accounts
    if debit.pk == credit.pk:
        raise AdjustmentNotAllowed("The debit and credit accounts are the same.")
    if debit.livemode != credit.livemode:
        raise AdjustmentNotAllowed("Live and test money never mix.")
    return debit, credit


def adjustment_post(
    *, debit_account_id: Any, credit_account_id: Any, amount: int, currency: str, reason_code: str, note: str,
    actor: Actor, reason: str,
) -> Transfer:
    """Post a manual adjustment (see :func:`adjustment_validate`): an immediate transfer filed
    under its reason code with the staff's note. The accounts' rules hold as for any transfer: a
    merchant's account never goes below zero. Raises AdjustmentNotAllowed, or a TransferRefused
    subclass (nothing posted)."""
    debit, credit = adjustment_validate(
        debit_account_id=debit_account_id, credit_account_id=credit_account_id, amount=amount, currency=currency,
        reason_code=reason_code, note=note,
    )
    spec = data.TransferSpec(
        client_id=new_client_id(), debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount,
        currency=currency, livemode=debit.livemode, merchant_id=debit.merchant_id or credit.merchant_id,
        code="adjustment", reference=reason_code, metadata={"reason_code": reason_code, "note": note},
        created_by=actor.label,
    )
    with transaction.atomic():
        posted = _posted(engine.post([spec])[0], spec)
        audit_record(
            actor=actor, action="ledger.adjustment_posted", object_type="ledger.transfer",
            object_id=str(posted.transfer.pk), reason=reason, merchant_id=str(spec.merchant_id or ""),
            after={"debit_account_id": str(debit.pk), "credit_account_id": str(credit.pk), "amount": amount,
                   "currency": currency, "reason_code": reason_code, "note": note},
        )
    return posted.transfer


# --- transfers -----------------------------------------------------------------------------


def transfer_create(*, spec: data.TransferSpec) -> Posted:
    """Post one transfer. Concurrent callers outside a transaction share a batch (group
    commit). Raises a TransferRefused subclass, or LedgerBusy when its batch is late."""
    try:
        outcome = committer.submit(spec)
    except FutureTimeoutError as late:
        raise LedgerBusy(
            "The transfer is still queued and may yet be posted; retry with the same client_id or "
            "Idempotency-Key, which never posts twice."
        ) from late
    return _posted(outcome, spec)


def _resolution(*, kind: Kind, merchant_id: UUID | None, merchant_scope: bool, livemode: bool, pending_id: UUID,
                client_id: str | None, actor: Actor, amount: int | None = None) -> Posted:
    spec = data.TransferSpec(
        client_id=client_id or new_client_id(), kind=kind, amount=amount, merchant_id=merchant_id,
        merchant_scope=merchant_scope, livemode=livemode, pending_id=pending_id, created_by=actor.label,
    )
    return transfer_create(spec=spec)


def transfer_post_pending(*, pending_id: UUID, actor: Actor, merchant_id: UUID | None = None,
                          merchant_scope: bool = False, livemode: bool = True, amount: int | None = None,
                          client_id: str | None = None) -> Posted:
    """Post a pending transfer in full, or ``amount`` of it (the rest of the hold ends)."""
    return _resolution(kind=Kind.POST_PENDING, merchant_id=merchant_id, merchant_scope=merchant_scope,
                       livemode=livemode, pending_id=pending_id, client_id=client_id, actor=actor, amount=amount)


def transfer_void_pending(*, pending_id: UUID, actor: Actor, merchant_id: UUID | None = None,
                          merchant_scope: bool = False, livemode: bool = True, client_id: str | None = None) -> Posted:
    """End a hold without moving money."""
    return _resolution(kind=Kind.VOID_PENDING, merchant_id=merchant_id, merchant_scope=merchant_scope,
                       livemode=livemode, pending_id=pending_id, client_id=client_id, actor=actor)


def transfer_reverse(*, transfer_id: UUID, actor: Actor, merchant_id: UUID | None = None,
                     merchant_scope: bool = False, livemode: bool = True, client_id: str | None = None,
                     reference: str = "") -> Posted:
    """Send posted money back with a new, opposite transfer that points at the original."""
    spec = data.TransferSpec(
        client_id=client_id or new_client_id(), kind=Kind.IMMEDIATE, merchant_id=merchant_id,
        merchant_scope=merchant_scope, livemode=livemode, reverses_id=transfer_id, code="reversal",
        reference=reference, created_by=actor.label,
    )
    return transfer_create(spec=spec)


class BatchRefused(FincoreError):
    """An atomic batch was refused as a whole; ``results`` says which transfer failed and why."""

    code = "batch_refused"
    title = "The atomic batch was refused; no transfer of it was posted"
    status = 422


@dataclass(frozen=True)
class BatchItem:
    result: str  # "ok", "exists", or a refusal code as the API reports it
    transfer: Transfer | None
    refusal: TransferRefused | None


def transfers_batch(*, specs: Sequence[data.TransferSpec], atomic: bool) -> list[BatchItem]:
    """Post up to a batch of transfers in one transaction. ``atomic`` links them all: every one
    is posted or none is (then BatchRefused, carrying the per-transfer results)."""
    if atomic:
        specs = [replace(spec, linked=index < len(specs) - 1) for index, spec in enumerate(specs)]
    outcomes = engine.post(specs)
    transfers = _transfers(outcomes)
    refusals = iter(_refusals([(o.result, spec) for spec, o in zip(specs, outcomes, strict=True)
                               if o.result not in data.SUCCESSES]))
    items = []
    for outcome in outcomes:
        if outcome.result in data.SUCCESSES:
            items.append(BatchItem(outcome.result.value, transfers[outcome.transfer_id], None))
        else:
            refusal = next(refusals)
            items.append(BatchItem(refusal.code, None, refusal))
    if atomic and any(item.refusal for item in items):
        raise BatchRefused(results=[{"index": i, "result": item.result} for i, item in enumerate(items)])
    return items


def new_client_id() -> str:
    """A client id for a caller that gave none (such a transfer cannot be deduplicated)."""
    return str(uuid7())


# The expiry sweep re-reads this much before where it last finished, for holds committed late
# (a slow transaction, a web host whose clock runs behind the worker's).
EXPIRY_OVERLAP = timedelta(minutes=10)
_EXPIRY_WATERMARK = "ledger.hold_expiry"


def pending_transfers_expire(*, limit: int = 1000) -> int:
    """Expire pending transfers past their timeout, releasing their holds. Returns how many.

    Reads only deadlines since the last complete run (less EXPIRY_OVERLAP), so its cost follows
    the holds now expiring, not all holds ever made.
    """
    now = clock.now()
    last = selectors.watermark(_EXPIRY_WATERMARK)
    due = selectors.pending_transfers_due(now=now, since=last - EXPIRY_OVERLAP if last else None, limit=limit)
    specs = [
        data.TransferSpec(
            client_id=f"{data.RESERVED_CLIENT_ID_PREFIX}expire:{pending.id}", kind=Kind.EXPIRE_PENDING,
            pending_id=pending.id, merchant_id=pending.merchant_id, livemode=pending.livemode,
            created_by="ledger.expire_pending",
        )
        for pending in due
    ]
    expired = sum(outcome.result == Result.OK for outcome in engine.post(specs))
    if len(due) < limit:
        # Everything due up to ``now`` is resolved: the next run may start from here.
        Watermark.objects.update_or_create(name=_EXPIRY_WATERMARK, defaults={"value": now})
    return expired


def ledger_check(*, actor: Actor) -> Verification:
    """Prove the invariants over all data and keep the result; a failure is journaled."""
    started_at: datetime = clock.now()
    report = selectors.ledger_verify()
    with transaction.atomic():
        verification = Verification.objects.create(
            started_at=started_at, finished_at=clock.now(), ok=report.ok, problem=report.problem or "",
            accounts=report.accounts, transfers=report.transfers,
        )
        if not report.ok:
            audit_record(
                actor=actor, action="ledger.verification_failed", object_type="ledger.verification",
                object_id=str(verification.pk), after={"problem": report.problem},
            )
    return verification
