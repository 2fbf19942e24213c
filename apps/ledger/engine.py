"""The posting engine: one database transaction per batch of transfers, in two round trips.

    BEGIN, and lock the accounts     (one round trip: SELECT ... ORDER BY id FOR UPDATE, no
      in id order                     deadlocks; those named by role found in the same statement)
    apply the rules in memory        (apps.ledger.domain: an outcome per transfer)
    open the role accounts it needs, (one round trip: up to four statements, each column sent
      insert transfers and entries,   as one array and unnested by PostgreSQL, and COMMIT)
      update each touched account
      once, COMMIT

Inside a caller's transaction, SAVEPOINT and RELEASE take BEGIN's and COMMIT's places. A batch
resolving or reversing transfers reads them before the locks, and whether they are resolved
already after; one round trip each.

The locks are held for the posting only: nothing else happens inside the transaction. A
batch costs a handful of statements however many transfers it carries, which is how the
engine outruns one-commit-per-transfer, and how a hot account stays cheap: it is locked and
written once per batch, not once per transfer. :mod:`apps.ledger.group_commit` gathers
concurrent single transfers into such batches.

Client ids are not looked up while a batch posts all its transfers: the first attempt takes
them for new and the unique index on them refuses a taken one at the insert. The batch then
rolls back whole and runs again, looking its client ids up first, and finds the transfers
already posted (``exists``). A batch refusing any transfer writes nothing the index could
check, so it looks its client ids up once it holds the locks, and plans again if one is taken.
Two batches racing on the same client id meet at the same index, and the loser, run again,
finds the winner's transfer.

An account named by role (:class:`apps.ledger.data.AccountRef`) that does not exist yet is
planned as what it would be — empty, with its role's rules — and opened only if a transfer of
the batch is posted to it: a refused transfer opens nothing. It is inserted with the batch's
writes, after the locks: nobody else can see, let alone lock, an account before we commit it.
Two batches opening the same account at once meet at the chart's unique constraint: the loser
runs again and finds the winner's account. Accounts are opened in one fixed order, so two
batches opening the same few never wait on each other in a circle.
"""

import gc
import json
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple
from uuid import UUID

import psycopg2
from django.db import IntegrityError, OperationalError, connection

from apps.core import clock
from apps.core.ids import uuid7
from apps.ledger import data, domain
from apps.ledger.models import Account, Entry, Transfer

logger = logging.getLogger(__name__)

_ATTEMPTS = 4
_ACCOUNT_COLUMNS = (
    "id, currency, livemode, merchant_id, owner_type, debits_must_not_exceed_credits, credits_must_not_exceed_debits, "
    "frozen, closed, debits_pending, debits_posted, credits_pending, credits_posted, last_posted_at, code, name"
)
_TRANSFER_COLUMNS = (
    "id, livemode, merchant_id, client_id, kind, debit_account_id, credit_account_id, currency, amount, pending_id, "
    "reverses_id, expires_at, code, reference, metadata, created_at"
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
            # The first attempt takes the batch's client ids for new (see _post_once); a retry
            # looks them up first, since a taken one is the likeliest reason it runs again.
            return _post_once(specs, client_ids_looked_up=attempt > 1)
        except (IntegrityError, OperationalError) as error:
            # IntegrityError: one of our client ids was taken (by an earlier posting, or a
            # concurrent batch between our read and our insert), or a concurrent batch resolved
            # our pending. OperationalError: a deadlock or serialization failure, which ordered
            # locking should prevent; retried all the same.
            if attempt == _ATTEMPTS:
                raise
            logger.info("ledger batch retried", extra={"attempt": attempt, "error": repr(error)[:300]})
    raise AssertionError("unreachable")


def _known(row: Sequence[Any]) -> domain.KnownTransfer:
    (transfer_id, livemode, merchant_id, client_id, kind, debit, credit, currency, amount, pending_id,
     reverses_id, expires_at, code, reference, metadata, created_at) = row
    return domain.KnownTransfer(
        id=transfer_id, livemode=livemode, merchant_id=merchant_id, client_id=client_id, kind=data.Kind(kind),
        debit_account_id=debit, credit_account_id=credit, currency=currency, amount=amount,
        pending_id=pending_id, reverses_id=reverses_id, expires_at=expires_at, code=code, reference=reference,
        # Django has psycopg2 hand jsonb over as text (its JSONField decodes it itself).
        metadata=json.loads(metadata) if isinstance(metadata, str) else metadata, created_at=created_at,
    )


def _existing(cursor: Any, specs: Sequence[data.TransferSpec]) -> dict[domain.ClientKey, domain.KnownTransfer]:
    keys = {domain.client_key(spec) for spec in specs}
    if len(keys) == 1:
        # One transfer (the common case under group commit's light load): the plainest query,
        # the cheapest to plan.
        [(merchant_id, livemode, client_id)] = keys
        merchant = "merchant_id = %s" if merchant_id else "merchant_id IS NULL AND %s IS NULL"  # index-friendly
        cursor.execute(
            f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} WHERE {merchant} AND livemode = %s AND client_id = %s",
            [merchant_id, livemode, client_id],
        )
        return {(k.merchant_id, k.livemode, k.client_id): k for k in map(_known, cursor.fetchall())}
    merchants = [(m, live, c) for m, live, c in keys if m]
    own = [(live, c) for m, live, c in keys if not m]
    # IN cannot match a NULL merchant (fincore's own transfers): those separately. Each part is
    # an index lookup (an OR of the two scans the whole table), asked only when the batch has
    # such keys: planning a part costs more than running it for a single transfer.
    parts, params = [], []
    if merchants:
        parts.append(f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} WHERE (merchant_id, livemode, client_id) "
                     "IN (SELECT * FROM unnest(%s::uuid[], %s::boolean[], %s::text[]))")
        params += [_uuids(m for m, _, _ in merchants), _booleans(live for _, live, _ in merchants),
                   [c for _, _, c in merchants]]
    if own:
        parts.append(f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} WHERE merchant_id IS NULL "
                     "AND (livemode, client_id) IN (SELECT * FROM unnest(%s::boolean[], %s::text[]))")
        params += [_booleans(live for live, _ in own), [c for _, c in own]]
    cursor.execute(" UNION ALL ".join(parts), params)
    return {(k.merchant_id, k.livemode, k.client_id): k for k in map(_known, cursor.fetchall())}


def _transfers(cursor: Any, ids: Iterable[UUID]) -> dict[UUID, domain.KnownTransfer]:
    ids = list(ids)
    if not ids:
        return {}
    cursor.execute(f"SELECT {_TRANSFER_COLUMNS} FROM {_TRANSFER} WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]])
    return {known.id: known for known in map(_known, cursor.fetchall())}


# An account named by role, as (code, currency, livemode, merchant_id, name): a merchant's has no
# name, fincore's own no merchant.
_Identity = tuple[str, str, bool, UUID | None, str]


def _identity(ref: data.AccountRef) -> _Identity:
    return (ref.role.value, ref.currency, ref.livemode, ref.merchant_id, ref.name)


# Up to this many references, one plain lookup each: cheaper to plan than joining arrays.
_FEW_REFS = 4
_BY_MERCHANT_ROLE = (f"SELECT id FROM {_ACCOUNT} WHERE owner_type = 'merchant' AND merchant_id = %s AND currency = %s "
                     "AND livemode = %s AND code = %s")
_BY_SYSTEM_ROLE = (f"SELECT id FROM {_ACCOUNT} WHERE owner_type = 'system' AND currency = %s AND livemode = %s "
                   "AND code = %s AND name = %s")


def _by_role(refs: Collection[data.AccountRef]) -> tuple[str, list[Any]]:
    """A query for the ids of the accounts ``refs`` name: index lookups on the chart's unique
    constraints, asked only for the owners the batch names."""
    if len(refs) <= _FEW_REFS:
        parts, params = [], []
        for ref in refs:
            if ref.merchant_id is not None:
                parts.append(_BY_MERCHANT_ROLE)
                params += [ref.merchant_id.hex, ref.currency, ref.livemode, ref.role.value]
            else:
                parts.append(_BY_SYSTEM_ROLE)
                params += [ref.currency, ref.livemode, ref.role.value, ref.name]
        return " UNION ALL ".join(parts), params
    merchants = [ref for ref in refs if ref.merchant_id is not None]
    own = [ref for ref in refs if ref.merchant_id is None]
    parts, params = [], []
    if merchants:
        parts.append(f"SELECT id FROM {_ACCOUNT} WHERE owner_type = 'merchant' AND (merchant_id, currency, livemode, "
                     "code) IN (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::boolean[], %s::text[]))")
        params += [_uuids(r.merchant_id for r in merchants), [r.currency for r in merchants],
                   _booleans(r.livemode for r in merchants), [r.role.value for r in merchants]]
    if own:
        parts.append(f"SELECT id FROM {_ACCOUNT} WHERE owner_type = 'system' AND (currency, livemode, code, name) "
                     "IN (SELECT * FROM unnest(%s::text[], %s::boolean[], %s::text[], %s::text[]))")
        params += [[r.currency for r in own], _booleans(r.livemode for r in own), [r.role.value for r in own],
                   [r.name for r in own]]
    return " UNION ALL ".join(parts), params


def _lock_accounts(
    cursor: Any, ids: set[UUID], refs: Collection[data.AccountRef] = ()
) -> tuple[dict[UUID, domain.AccountState], datetime | None, dict[data.AccountRef, UUID]]:
    """Lock the accounts ``ids`` and those ``refs`` name, in id order, in one statement. Returns
    their states, the latest time one was posted to, and the id of each ref found (a ref
    missing there names an account not opened yet)."""
    # The batch's own UUIDs by their text, made before the locks: the locked rows' ids are read
    # as text and found here, not parsed (two UUIDs parsed per row cost a batch of 1,000
    # transfers ~10 ms while it holds the locks).
    uuids = {str(i): i for i in ids}
    ids_param = list(uuids)
    columns = _ACCOUNT_COLUMNS.replace("id, currency, livemode, merchant_id,", "id::text, currency, livemode, "
                                       "merchant_id::text,", 1)
    if refs:
        by_role, params = _by_role(refs)
        cursor.execute(
            f"SELECT {columns} FROM {_ACCOUNT} WHERE id = ANY(%s::uuid[] || ARRAY({by_role})) ORDER BY id FOR UPDATE",
            [ids_param, *params],
        )
    else:
        cursor.execute(f"SELECT {columns} FROM {_ACCOUNT} WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
                       [ids_param])
    accounts, latest, by_identity = {}, None, {}
    for (account_text, currency, livemode, merchant_text, owner_type, debits_limited, credits_limited, frozen, closed,
         debits_pending, debits_posted, credits_pending, credits_posted, last_posted_at, code,
         name) in cursor.fetchall():
        account_id = uuids.get(account_text) or UUID(account_text)
        if merchant_text is None:
            merchant_id = None
        elif (merchant_id := uuids.get(merchant_text)) is None:
            # Most accounts of a batch share a few merchants: each parsed once.
            merchant_id = uuids[merchant_text] = UUID(merchant_text)
        # Positional: keywords cost a batch of 1,000 transfers ~1.5 ms more while it holds the locks.
        accounts[account_id] = domain.AccountState(
            account_id, currency, livemode, merchant_id, owner_type == data.Owner.CUSTOMER, debits_limited,
            credits_limited, frozen, closed, debits_pending, debits_posted, credits_pending, credits_posted,
        )
        if last_posted_at is not None and (latest is None or last_posted_at > latest):
            latest = last_posted_at
        if refs and owner_type == data.Owner.MERCHANT:
            by_identity[(code, currency, livemode, merchant_id, "")] = account_id
        elif refs and owner_type == data.Owner.SYSTEM:
            by_identity[(code, currency, livemode, None, name)] = account_id
    found = {ref: by_identity[_identity(ref)] for ref in refs if _identity(ref) in by_identity}
    return accounts, latest, found


def _unopened(account_id: UUID, ref: data.AccountRef) -> domain.AccountState:
    """The account ``ref`` names as it would be opened: empty, with its role's rules."""
    rules = ref.rules
    return domain.AccountState(
        id=account_id, currency=ref.currency, livemode=ref.livemode, merchant_id=ref.merchant_id,
        customer_owned=False, debits_must_not_exceed_credits=rules.debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=rules.credits_must_not_exceed_debits, frozen=False, closed=False,
        debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=0,
    )


def _named_by_id(spec: data.TransferSpec, ids: Mapping[data.AccountRef, UUID]) -> data.TransferSpec:
    """The spec with its accounts named by id, as the posting rules take them."""
    debit, credit = spec.debit_account_ref, spec.credit_account_ref
    if debit is None and credit is None:
        return spec
    return replace(
        spec,
        debit_account_id=ids[debit] if debit is not None else spec.debit_account_id, debit_account_ref=None,
        credit_account_id=ids[credit] if credit is not None else spec.credit_account_id, credit_account_ref=None,
    )


def _consumed(cursor: Any, column: str, ids: set[UUID]) -> dict[UUID, str]:
    """Which of ``ids`` a transfer already resolves (column pending_id) or reverses (reverses_id),
    with that transfer's kind."""
    if not ids:
        return {}
    cursor.execute(
        f"SELECT {column}, kind FROM {_TRANSFER} WHERE {column} = ANY(%s::uuid[])", [[str(i) for i in ids]]
    )
    return dict(cursor.fetchall())


class _Transaction:
    """psycopg2's own cursor, the posting's transaction opened by its first statement and closed
    by its last, sent with them: BEGIN and COMMIT cost no round trip of their own (Django's
    atomic() sends each alone). Inside a caller's transaction, a savepoint instead, as atomic()
    would make: the posting commits or rolls back with the caller's other changes, and a failed
    attempt is undone alone."""

    _SAVEPOINT = "ledger_post"

    def __init__(self, cursor: Any, *, nested: bool) -> None:
        self.cursor = cursor
        if nested:
            self._opening = f"SAVEPOINT {self._SAVEPOINT};\n"
            self.closing = f"RELEASE SAVEPOINT {self._SAVEPOINT}"
            self.undo = f"ROLLBACK TO SAVEPOINT {self._SAVEPOINT}; RELEASE SAVEPOINT {self._SAVEPOINT}"
        else:
            self._opening, self.closing, self.undo = "BEGIN;\n", "COMMIT", "ROLLBACK"
        self.opened = False

    def execute(self, sql: str | bytes, params: Sequence[Any] | None = None) -> None:
        if not self.opened:
            opening = self._opening
            sql = opening.encode() + sql if isinstance(sql, bytes) else opening + sql
            self.opened = True
        self.cursor.execute(sql, params)

    def fetchall(self) -> list[tuple]:
        return self.cursor.fetchall()

    def mogrify(self, sql: str, params: Sequence[Any]) -> bytes:
        return self.cursor.mogrify(sql, params)


def _post_once(specs: Sequence[data.TransferSpec], *, client_ids_looked_up: bool) -> list[data.Outcome]:
    # wrap_database_errors: psycopg2's own cursor raises psycopg2's exceptions; post() retries,
    # and callers catch, Django's (IntegrityError, OperationalError, DataError).
    with connection.wrap_database_errors:
        connection.ensure_connection()
        # Not autocommit: inside atomic() (or a caller's own transaction), psycopg2 has begun one.
        nested = not connection.get_autocommit()
        if nested:
            connection.validate_no_broken_transaction()
        session = _Transaction(connection.connection.cursor(), nested=nested)
        try:
            with _collection_deferred():
                return _post_in(session, specs, client_ids_looked_up=client_ids_looked_up)
        except BaseException:
            if session.opened:
                _undo(session)
            raise


@contextmanager
def _collection_deferred() -> Iterator[None]:
    """Python's cyclic garbage collection held off while a batch posts: a batch of 1,000 makes
    some 15,000 objects, enough to set off a full collection of the process's heap every few
    batches (~50-100 ms in a Django process), which would otherwise fall inside the locks. It
    runs at the next allocation after. Only the outermost posting restores it, and only if it
    was on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _undo(session: _Transaction) -> None:
    try:
        session.cursor.execute(session.undo)
    except psycopg2.Error:
        # The connection is gone or the caller's transaction broken: Django must not reuse
        # either as if nothing happened.
        if connection.in_atomic_block:
            connection.needs_rollback = True
        else:
            connection.close()


def _post_in(
    session: _Transaction, specs: Sequence[data.TransferSpec], *, client_ids_looked_up: bool
) -> list[data.Outcome]:
    """The posting, as described in the module's docstring: ``session``'s first statement opens
    its transaction and its last one commits it."""
    # Taken client ids: looked up before the locks on a retry. The first attempt skips that
    # round trip and statement while the batch posts every transfer (the common case): the
    # unique index refuses a taken one at the insert, and the batch runs again, looking first.
    # A refused transfer writes nothing for the index to see, so a batch refusing any looks its
    # client ids up once the accounts are locked, and plans again if one was taken.
    existing = _existing(session, specs) if client_ids_looked_up else {}
    # A new transfer's id is made before the locks, one per spec, as is all the work that
    # does not need them: a batch holds them as briefly as it can.
    transfer_ids = [uuid7() for _ in specs]
    pending_ids = {spec.pending_id for spec in specs if spec.pending_id}
    reversed_ids = {spec.reverses_id for spec in specs if spec.reverses_id}
    known = _transfers(session, pending_ids | reversed_ids)

    account_ids = {a for spec in specs for a in (spec.debit_account_id, spec.credit_account_id) if a}
    account_ids |= {a for k in known.values() for a in (k.debit_account_id, k.credit_account_id)}
    refs = {r for spec in specs for r in (spec.debit_account_ref, spec.credit_account_ref) if r}
    written = _Written.expected(session, specs, transfer_ids)
    accounts, latest_posting, found = _lock_accounts(session, account_ids, refs)
    # Read only once the accounts are locked: whoever resolved or reversed these before us
    # held the same locks and has committed.
    resolutions = _consumed(session, "pending_id", pending_ids & known.keys())
    reversed_ = set(_consumed(session, "reverses_id", reversed_ids & known.keys()))
    # Entries of an account are ordered by time: never stamp one before the last.
    now = max(clock.now(), latest_posting) if latest_posting else clock.now()

    unopened: dict[UUID, data.AccountRef] = {}
    if refs:
        for ref in refs - found.keys():
            found[ref] = account_id = uuid7()
            unopened[account_id] = ref
            accounts[account_id] = _unopened(account_id, ref)
        specs = [_named_by_id(spec, found) for spec in specs]

    def planned() -> domain.Plan:
        return domain.plan_batch(
            specs, accounts=accounts, known=known, existing=existing, resolved_pending_ids=set(resolutions),
            reversed_ids=reversed_, now=now, new_id=iter(transfer_ids).__next__,
            expired_pending_ids={p for p, kind in resolutions.items() if kind == data.Kind.EXPIRE_PENDING},
        )

    plan = planned()
    if not client_ids_looked_up and any(outcome.result is not data.Result.OK for outcome in plan.outcomes):
        existing = _existing(session, specs)
        if existing:
            plan = planned()
    if plan.transfers:
        # Only the accounts a posted transfer moved money on are opened.
        opened = {account_id: unopened[account_id] for account_id in plan.accounts.keys() & unopened.keys()}
        _write(session, plan, now, opened=opened, written=written)
    else:
        session.execute(session.closing)
    return plan.outcomes


_INSERT_ACCOUNTS = (
    f"INSERT INTO {_ACCOUNT} (created_at, id, owner_type, merchant_id, currency, livemode, code, name, "
    "debits_must_not_exceed_credits, credits_must_not_exceed_debits, reference, metadata, frozen, closed, "
    "debits_pending, debits_posted, credits_pending, credits_posted) "
    "SELECT %s, *, '', '{}', false, false, 0, 0, 0, 0 FROM unnest(%s::uuid[], %s::text[], %s::uuid[], %s::text[], "
    "%s::boolean[], %s::text[], %s::text[], %s::boolean[], %s::boolean[])"
)
# The transfers' and entries' inserts in three parts: what ``now`` stamps, the columns that
# follow from the specs alone (rendered before the locks when the batch is expected to post them
# all: see _Written), and those that depend on the locked accounts.
_INSERT_TRANSFERS = (
    f"INSERT INTO {_TRANSFER} (created_at, effective_at, id, livemode, merchant_id, client_id, kind, debit_account_id, "
    "credit_account_id, currency, amount, pending_id, reverses_id, code, reference, metadata, created_by, expires_at) "
    "SELECT %s, coalesce(t.effective_at, %s), t.id, t.livemode, t.merchant_id, t.client_id, t.kind, t.debit, "
    "t.credit, t.currency, t.amount, t.pending_id, t.reverses_id, t.code, t.reference, t.metadata, t.created_by, "
    "t.expires_at FROM unnest("
)
_TRANSFER_VALUES = (
    "%s::uuid[], %s::boolean[], %s::uuid[], %s::text[], %s::text[], %s::uuid[], %s::uuid[], %s::text[], "
    "%s::bigint[], %s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::text[], "
)
_TRANSFERS_EXPIRING = (
    "%s::timestamptz[]) AS t(id, livemode, merchant_id, client_id, kind, debit, credit, currency, amount, pending_id, "
    "reverses_id, code, reference, metadata, effective_at, created_by, expires_at)"
)
_INSERT_ENTRIES = (
    f"INSERT INTO {_ENTRY} (posted_at, account_id, transfer_id, side, pending_change, posted_change, debits_pending, "
    "debits_posted, credits_pending, credits_posted) "
    "SELECT %s, * FROM unnest("
)
_ENTRY_VALUES = "%s::uuid[], %s::uuid[], %s::text[], %s::bigint[], %s::bigint[], "
_ENTRY_BALANCES = "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
_UPDATE_ACCOUNTS = (
    f"UPDATE {_ACCOUNT} AS a SET last_posted_at = %s, debits_pending = v.dp, debits_posted = v.dpo, "
    "credits_pending = v.cp, credits_posted = v.cpo "
    "FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, dp, dpo, cp, cpo) "
    "WHERE a.id = v.id"
)


def _array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers.

    One string per column is many times cheaper than psycopg2 adapting each value, and so is
    parsing it on the server compared with a VALUES list of thousands of rows.
    """
    return "{" + ",".join(map(str, values)) + "}"


def _uuids(values: Iterable[UUID | str | None]) -> str:
    # 32 hex digits: PostgreSQL's uuid input takes them, and UUID.hex costs half of str(UUID). A
    # string is parsed first (ValueError if it is no UUID): it must never add elements to the array.
    return "{" + ",".join(
        "NULL" if value is None else value.hex if isinstance(value, UUID) else UUID(value).hex for value in values
    ) + "}"


def _booleans(values: Iterable[bool]) -> str:
    return "{" + ",".join("t" if value else "f" for value in values) + "}"


def _timestamps(values: Iterable[datetime | None]) -> str:
    # isoformat(), as psycopg2 itself sends a datetime.
    return "{" + ",".join("NULL" if value is None else value.isoformat() for value in values) + "}"


# A NewTransfer's fields less expires_at (stamped from ``now``), as columns: the transfers' ids,
# specs, debit and credit accounts, currencies, amounts, codes and references.
_TransferColumns = tuple[tuple, ...]
# A NewEntry's first five fields as columns: accounts, transfers, sides, pending and posted changes.
_EntryColumns = tuple[tuple, ...]

# An AccountState's id and balances, as _UPDATE_ACCOUNTS takes them: one pass over the accounts.
_BALANCES = attrgetter("id", "debits_pending", "debits_posted", "credits_pending", "credits_posted")
_CHANGES = {data.Kind.IMMEDIATE: lambda amount: (0, amount), data.Kind.PENDING: lambda amount: (amount, 0)}


def _transfer_values(session: _Transaction, columns: _TransferColumns) -> bytes:
    ids, specs, debits, credits, currencies, amounts, codes, references = columns
    return session.mogrify(_TRANSFER_VALUES, [
        _uuids(ids), _booleans(s.livemode for s in specs), _uuids(s.merchant_id for s in specs),
        [s.client_id for s in specs], [s.kind.value for s in specs], _uuids(debits), _uuids(credits),
        list(currencies), _array(amounts), _uuids(s.pending_id for s in specs), _uuids(s.reverses_id for s in specs),
        list(codes), list(references), [json.dumps(dict(s.metadata)) for s in specs],
        _timestamps(s.effective_at for s in specs), [s.created_by for s in specs],
    ])


def _entry_values(session: _Transaction, columns: _EntryColumns) -> bytes:
    accounts, transfers, sides, pending_changes, posted_changes = columns
    # Sides are "D" or "C": a literal needs no quoting.
    return session.mogrify(_ENTRY_VALUES, [
        _uuids(accounts), _uuids(transfers), "{" + ",".join(sides) + "}", _array(pending_changes),
        _array(posted_changes),
    ])


class _Written(NamedTuple):
    """A batch's transfers and entries as far as they follow from its specs, rendered before
    the locks for the outcome expected of a batch of plain transfers (accounts named by id,
    immediate or pending, nothing resolved or reversed): every spec posted, in order, under the
    ids made for it. Under the locks only what depends on them is rendered: the balances, and
    what ``now`` stamps. The plan is compared with the expectation column by column (identical
    objects compare at C speed); a batch that planned anything else has its rows rendered from
    the plan, as before."""

    transfers: _TransferColumns
    entries: _EntryColumns
    transfer_values: bytes
    entry_values: bytes

    @classmethod
    def expected(
        cls, session: _Transaction, specs: Sequence[data.TransferSpec], transfer_ids: Sequence[UUID]
    ) -> "_Written | None":
        if any(s.debit_account_ref or s.credit_account_ref or s.pending_id or s.reverses_id or s.kind not in _CHANGES
               for s in specs):
            return None
        debits = tuple(s.debit_account_id for s in specs)
        credits = tuple(s.credit_account_id for s in specs)
        transfers = (tuple(transfer_ids), tuple(specs), debits, credits, tuple(s.currency for s in specs),
                     tuple(s.amount for s in specs), tuple(s.code for s in specs), tuple(s.reference for s in specs))
        changes = [_CHANGES[s.kind](s.amount) for s in specs]
        entries = (
            tuple(a for pair in zip(debits, credits, strict=True) for a in pair),
            tuple(t for t in transfer_ids for _ in "DC"),
            ("D", "C") * len(specs),
            tuple(pending for pending, _ in changes for _ in "DC"),
            tuple(posted for _, posted in changes for _ in "DC"),
        )
        return cls(transfers, entries, _transfer_values(session, transfers), _entry_values(session, entries))


def _write(
    session: _Transaction, plan: domain.Plan, now: datetime, opened: Mapping[UUID, data.AccountRef] | None = None,
    written: _Written | None = None,
) -> None:
    """The batch's new accounts (``opened``: those named by role that it opens), transfers,
    entries and balances, and the end of its transaction, in up to five statements sent as one
    (a single round trip): each column travels as one array and unnest() turns the arrays into
    rows, in order. ``written``: the rows rendered before the locks, used if the plan made them."""
    # Columns, transposed at C speed: NewTransfer's and NewEntry's fields in order.
    ids, specs, debits, credits, currencies, amounts, expiries, codes, references = zip(*plan.transfers, strict=True)
    transfers = (ids, specs, debits, credits, currencies, amounts, codes, references)
    *entries, debits_pending, debits_posted, credits_pending, credits_posted = zip(*plan.entries, strict=True)
    entries = tuple(entries)
    if written is not None and written.transfers == transfers and written.entries == entries:
        transfer_values, entry_values = written.transfer_values, written.entry_values
    else:
        transfer_values, entry_values = _transfer_values(session, transfers), _entry_values(session, entries)
    account_ids, *balances = zip(*map(_BALANCES, plan.accounts.values()), strict=True)
    statements = [
        session.mogrify(_INSERT_TRANSFERS, [now, now]) + transfer_values
        + session.mogrify(_TRANSFERS_EXPIRING, [_timestamps(expiries)]),
        session.mogrify(_INSERT_ENTRIES, [now]) + entry_values + session.mogrify(_ENTRY_BALANCES, [
            _array(debits_pending), _array(debits_posted), _array(credits_pending), _array(credits_posted),
        ]),
        session.mogrify(_UPDATE_ACCOUNTS, [now, _uuids(account_ids), *map(_array, balances)]),
    ]
    if opened:
        # In one fixed order (any will do): two batches opening the same accounts wait on each
        # other in turn, never in a circle.
        new = sorted(opened.items(), key=lambda item: str(_identity(item[1])))
        refs = [ref for _, ref in new]
        statements.insert(0, session.mogrify(_INSERT_ACCOUNTS, [
            now,
            _uuids(account_id for account_id, _ in new), [ref.rules.owner.value for ref in refs],
            _uuids(ref.merchant_id for ref in refs), [ref.currency for ref in refs],
            _booleans(ref.livemode for ref in refs), [ref.role.value for ref in refs], [ref.name for ref in refs],
            _booleans(ref.rules.debits_must_not_exceed_credits for ref in refs),
            _booleans(ref.rules.credits_must_not_exceed_debits for ref in refs),
        ]))
    session.execute(b";\n".join([*statements, session.closing.encode()]))
