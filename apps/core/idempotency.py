"""Idempotency keys: a retried POST replays the first response instead of acting twice.

The key is scoped to a merchant and kept for ``FINCORE_IDEMPOTENCY_TTL`` (24 h at least).
The first request with a key claims it; while it runs, a concurrent duplicate is refused; once
it has answered, a retry with the same body gets the same status and body back, and a retry
with a different body is refused. A 5xx answer releases the key: the services behind every
endpoint own their transactions, so a failed request changed nothing and may be retried.

While a request runs, it holds a PostgreSQL session advisory lock on its key, on its own
database connection. A request that dies (its process killed, its connection cut) loses the lock
with its connection, so a retry takes its claim over at once instead of waiting for a lease to
run out; a request still running keeps it, and a duplicate is told to wait. The money-moving
services underneath deduplicate on the same key (a unique constraint: one payment, refund or
transfer per key), so a retry that took over returns what the dead request made and never acts
twice. (The lock needs session-level connections: no transaction-pooling proxy in between.)
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection

from apps.core import clock
from apps.core.exceptions import FincoreError
from apps.core.models import IdempotencyRecord

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255


class IdempotencyKeyInvalid(FincoreError):
    code = "idempotency_key_invalid"
    title = "The Idempotency-Key header is not valid"
    status = 400


class IdempotencyKeyReused(FincoreError):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with a different request"
    status = 422


class IdempotencyKeyInUse(FincoreError):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still being processed"
    status = 409
    retry_after = 1


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    headers: dict[str, str]


def fingerprint(*, method: str, path: str, body: Any) -> str:
    """Identify a request by what it asks for; JSON key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def validate_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise IdempotencyKeyInvalid(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )


def _lock_id(scope: str, key: str) -> int:
    """The advisory lock of a key: 64 bits of its hash (PostgreSQL's lock ids are signed bigints)."""
    digest = hashlib.sha256(f"idempotency\n{scope}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class ClaimedKey:
    """A key this request holds (its record inserted, or taken over), until it completes."""

    record_id: int
    scope: str
    key: str


_TABLE = IdempotencyRecord._meta.db_table
# The common case in one round trip: lock the key and, if it is free, insert its record. A key
# already recorded inserts nothing here; its record is then read by a statement of its own, so
# that it is read after the lock is held (this statement's snapshot predates the lock).
_LOCK_AND_INSERT = f"""
WITH claim AS MATERIALIZED (SELECT pg_try_advisory_lock(%s) AS locked),
inserted AS (
    INSERT INTO {_TABLE} (scope, key, fingerprint, method, path, created_at, locked_at, response_headers)
    SELECT %s, %s, %s, %s, %s, %s, %s, '{{}}'::jsonb FROM claim WHERE claim.locked
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
)
SELECT claim.locked, (SELECT id FROM inserted) FROM claim
"""
# Store the answer (or forget the key) and unlock it, in one round trip. The transaction-level
# lock taken first keeps the key locked until this statement's change is committed: a duplicate
# waiting for the key never reads the record as still unanswered.
_STORE_AND_UNLOCK = f"""
WITH held AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s)),
stored AS (
    UPDATE {_TABLE} SET response_status = %s, response_body = %s::jsonb, response_headers = %s::jsonb,
        completed_at = %s
    WHERE id = %s AND response_status IS NULL
)
SELECT pg_advisory_unlock(%s) FROM held
"""
_FORGET_AND_UNLOCK = f"""
WITH held AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s)),
forgotten AS (DELETE FROM {_TABLE} WHERE id = %s AND response_status IS NULL)
SELECT pg_advisory_unlock(%s) FROM held
"""


def _unlock(scope: str, key: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_id(scope, key)])
    except DatabaseError:
        # The connection broke (a database restart, a network cut): its locks went with it.
        logger.warning("idempotency key not unlocked: the database connection is gone", exc_info=True)


def idempotency_claim(
    *, scope: str, key: str, method: str, path: str, request_fingerprint: str
) -> ClaimedKey | StoredResponse:
    """Claim ``key`` for a new request, or return the response of the request that had it.

    A claimed key stays locked to this database connection until :func:`idempotency_complete`
    (or until the connection ends). A claim left by a request that died unanswered is taken over.

    Raises IdempotencyKeyInvalid, IdempotencyKeyReused or IdempotencyKeyInUse.
    """
    validate_key(key)
    lock_id, now = _lock_id(scope, key), clock.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_AND_INSERT, [lock_id, scope, key, request_fingerprint, method, path[:512], now, now])
            locked, record_id = cursor.fetchone()
    except BaseException:
        _unlock(scope, key)
        raise
    if not locked:
        raise IdempotencyKeyInUse("The first request with this Idempotency-Key has not finished; retry shortly.")
    if record_id is not None:
        return ClaimedKey(record_id, scope, key)
    try:
        claimed = _claim_recorded(scope=scope, key=key, method=method, path=path,
                                  request_fingerprint=request_fingerprint, now=now)
    except BaseException:
        _unlock(scope, key)
        raise
    if isinstance(claimed, StoredResponse):
        _unlock(scope, key)
    return claimed


def _claim_recorded(*, scope: str, key: str, method: str, path: str, request_fingerprint: str, now: datetime
                    ) -> ClaimedKey | StoredResponse:
    """Under the key's lock, for a key that has a record: no other live request has it."""
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is None or existing.created_at < now - settings.FINCORE_IDEMPOTENCY_TTL:
        if existing is not None:
            # Expired but not purged yet: the key is free again.
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        record = IdempotencyRecord.objects.create(
            scope=scope, key=key, fingerprint=request_fingerprint, method=method,
            path=path[:512], created_at=now, locked_at=now,
        )
        return ClaimedKey(record.pk, scope, key)
    if existing.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was first used with another request "
            f"({existing.method} {existing.path} with a different body); use a new key."
        )
    if existing.response_status is not None:
        return StoredResponse(existing.response_status, existing.response_body, existing.response_headers)
    # Claimed and never answered, and its lock is free: the request that claimed it is gone.
    IdempotencyRecord.objects.filter(pk=existing.pk).update(locked_at=now)
    return ClaimedKey(existing.pk, scope, key)


def idempotency_complete(*, record: ClaimedKey, status: int, body: Any, headers: dict[str, str]) -> None:
    """Store the answer for replay (a server error releases the key instead), and unlock it."""
    lock_id = _lock_id(record.scope, record.key)
    try:
        with connection.cursor() as cursor:
            if status >= 500:
                cursor.execute(_FORGET_AND_UNLOCK, [lock_id, record.record_id, lock_id])
            else:
                # No body (a download) is stored as SQL NULL, as the model's field stores None.
                stored_body = None if body is None else json.dumps(body, cls=DjangoJSONEncoder)
                cursor.execute(_STORE_AND_UNLOCK, [
                    lock_id, status, stored_body, json.dumps(headers), clock.now(), record.record_id, lock_id,
                ])
    except BaseException:
        _unlock(record.scope, record.key)
        raise


def idempotency_purge_expired() -> int:
    """Forget keys older than the retention period; returns how many were removed."""
    cutoff = clock.now() - settings.FINCORE_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
