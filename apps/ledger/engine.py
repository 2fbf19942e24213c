"""The posting engine: one database transaction per batch of transfers.

    read what the batch refers to   (existing client ids, pending and reversed transfers)
    lock the accounts, in id order   (SELECT ... ORDER BY id FOR UPDATE: no deadlocks)
    apply the rules in memory        (apps.ledger.domain: an outcome per transfer)
    insert transfers and entries     (one multi-row INSERT each)
    update each touched account once (one UPDATE ... FROM VALUES)
    commit

The locks are held for the posting only: nothing else happens inside the transaction. A
batch costs a handful of statements however many transfers it carries, which is how the
engine outruns one-commit-per-transfer, and how a hot account stays cheap: it is locked and
written once per batch, not once per transfer. :mod:`apps.ledger.group_commit` gathers
concurrent single transfers into such batches.

Two batches racing on the same client id meet at its unique index: the loser's transaction
rolls back whole and is run again, and then finds the winner's transfer (``exists``).
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, OperationalError, connection, transaction
from psycopg2.extras import Json, execute_values

from apps.core import clock
from apps.core.ids import uuid7
from apps.ledger import data, domain
from apps.ledger.models import Account, Entry, Transfer

logger = logging.getLogger(__name__)

_ATTEMPTS = 4
_ACCOUNT_COLUMNS = (
    "id, currency, merchant_id, owner_type, debits_must_not_exceed_credits, credits_must_not_exceed_debits, "
    "frozen, closed, debits_pending, debits_posted, credits_pending, credits_posted, last_posted_at"
)
_TRANSFER_COLUMNS = (
    "id, merchant_id, client_id, kind, debit_account_id, credit_account_id, currency, amount, pending_id, "
    "reverses_id, expires_at, code, reference"
)
_ACCOUNT = Account._meta.db_table
_TRANSFER = Transfer._meta.db_table
_ENTRY = Entry._meta.db_table


def post(specs: Sequence[data.TransferSpec]) -> list[data.Outcome]:
    """Post a batch; returns one outcome per spec, in order. Retries a batch that lost a race."""
    if not specs:
        return []
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _post_once(specs)
        except (IntegrityError, OperationalError) as error:
            # IntegrityError: a concurrent batch took one of our client ids (or resolved our
            # pending) between our read and our insert. OperationalError: a deadlock or
            # serialization failure, which ordered locking should prevent; retried all the same.
            if attempt == _ATTEMPTS:
                raise
            logger.info("ledger batch retried", extra={"attempt": attempt, "error": repr(error)[:300]})
    raise AssertionError("unreachable")


def _known(row: Sequence[Any]) -> domain.KnownTransfer:
    (transfer_id, merchant_id, client_id, kind, debit, credit, currency, amount, pending_id, reverses_id,
     expires_at, code, reference) = row
    return domain.KnownTransfer(
        id=transfer_id, merchant_id=merchant_id, client_id=client_id, kind=data.Kind(kind),
        debit_account_id=debit, credit_account_id=credit, currency=currency, amount=amount,
        pending_id=pending_id, reverses_id=reverses_id, expires_at=expires_at, code=code, reference=reference,
    )


def _existing(cursor: Any, specs: Sequence[data.TransferSpec]) -> dict[tuple[UUID | None, str], domain.KnownTransfer]:
    keys = {(spec.merchant_id, spec.client_id) for spec in specs}
    cursor.execute(
        f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} "
        "WHERE (merchant_id, client_id) IN (SELECT * FROM unnest(%s::uuid[], %s::text[])) "
        # IN cannot match a NULL merchant (fincore's own transfers): those separately.
        "OR (merchant_id IS NULL AND client_id = ANY(%s::text[]))",
        [
            [str(m) for m, _ in keys if m],
            [c for m, c in keys if m],
            [c for m, c in keys if not m],
        ],
    )
    return {(known.merchant_id, known.client_id): known for known in map(_known, cursor.fetchall())}


def _transfers(cursor: Any, ids: Iterable[UUID]) -> dict[UUID, domain.KnownTransfer]:
    ids = list(ids)
    if not ids:
        return {}
    cursor.execute(f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]])
    return {known.id: known for known in map(_known, cursor.fetchall())}


def _lock_accounts(cursor: Any, ids: set[UUID]) -> tuple[dict[UUID, domain.AccountState], datetime | None]:
    cursor.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM {_ACCOUNT} WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
        [[str(i) for i in ids]],
    )
    accounts, latest = {}, None
    for (account_id, currency, merchant_id, owner_type, debits_limited, credits_limited, frozen, closed,
         debits_pending, debits_posted, credits_pending, credits_posted, last_posted_at) in cursor.fetchall():
        accounts[account_id] = domain.AccountState(
            id=account_id, currency=currency, merchant_id=merchant_id,
            customer_owned=owner_type == Account.OwnerType.CUSTOMER,
            debits_must_not_exceed_credits=debits_limited, credits_must_not_exceed_debits=credits_limited,
            frozen=frozen, closed=closed, debits_pending=debits_pending, debits_posted=debits_posted,
            credits_pending=credits_pending, credits_posted=credits_posted,
        )
        if last_posted_at is not None and (latest is None or last_posted_at > latest):
            latest = last_posted_at
    return accounts, latest


def _consumed(cursor: Any, column: str, ids: set[UUID]) -> set[UUID]:
    """Which of ``ids`` a transfer already resolves (column pending_id) or reverses (reverses_id)."""
    if not ids:
        return set()
    cursor.execute(f"SELECT {column} FROM {_TRANSFER} WHERE {column} = ANY(%s::uuid[])", [[str(i) for i in ids]])
    return {row[0] for row in cursor.fetchall()}


def _post_once(specs: Sequence[data.TransferSpec]) -> list[data.Outcome]:
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg2's own, for execute_values
        existing = _existing(cursor, specs)
        pending_ids = {spec.pending_id for spec in specs if spec.pending_id}
        reversed_ids = {spec.reverses_id for spec in specs if spec.reverses_id}
        known = _transfers(cursor, pending_ids | reversed_ids)

        account_ids = {a for spec in specs for a in (spec.debit_account_id, spec.credit_account_id) if a}
        account_ids |= {a for k in known.values() for a in (k.debit_account_id, k.credit_account_id)}
        accounts, latest_posting = _lock_accounts(cursor, account_ids)
        # Read only once the accounts are locked: whoever resolved or reversed these before us
        # held the same locks and has committed.
        resolved = _consumed(cursor, "pending_id", pending_ids & known.keys())
        reversed_ = _consumed(cursor, "reverses_id", reversed_ids & known.keys())
        # Entries of an account are ordered by time: never stamp one before the last.
        now = max(clock.now(), latest_posting) if latest_posting else clock.now()

        plan = domain.plan_batch(
            specs, accounts=accounts, known=known, existing=existing, resolved_pending_ids=resolved,
            reversed_ids=reversed_, now=now, new_id=uuid7,
        )
        if plan.transfers:
            _write(cursor, plan, now)
    return plan.outcomes


def _write(cursor: Any, plan: domain.Plan, now: datetime) -> None:
    execute_values(
        cursor,
        f"INSERT INTO {_TRANSFER} (id, merchant_id, client_id, kind, debit_account_id, credit_account_id, "
        "currency, amount, pending_id, reverses_id, expires_at, code, reference, metadata, effective_at, "
        "created_at, created_by) VALUES %s",
        [
            (
                t.id, t.spec.merchant_id, t.spec.client_id, t.spec.kind.value, t.debit_account_id,
                t.credit_account_id, t.currency, t.amount, t.spec.pending_id, t.spec.reverses_id, t.expires_at,
                t.spec.code, t.spec.reference, Json(dict(t.spec.metadata)), t.spec.effective_at or now, now,
                t.spec.created_by,
            )
            for t in plan.transfers
        ],
        page_size=1000,
    )
    execute_values(
        cursor,
        f"INSERT INTO {_ENTRY} (account_id, transfer_id, side, pending_change, posted_change, debits_pending, "
        "debits_posted, credits_pending, credits_posted, posted_at) VALUES %s",
        [
            (e.account_id, e.transfer_id, e.side, e.pending_change, e.posted_change, e.debits_pending,
             e.debits_posted, e.credits_pending, e.credits_posted, now)
            for e in plan.entries
        ],
        page_size=2000,
    )
    execute_values(
        cursor,
        f"UPDATE {_ACCOUNT} AS a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, "
        "credits_posted = v.cpo, last_posted_at = v.at FROM (VALUES %s) AS v(id, dp, dpo, cp, cpo, at) "
        "WHERE a.id = v.id",
        [
            (a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, now)
            for a in plan.accounts.values()
        ],
        template="(%s::uuid, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::timestamptz)",
        page_size=2000,
    )
