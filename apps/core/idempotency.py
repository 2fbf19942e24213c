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
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

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


def _lock(scope: str, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_id(scope, key)])
        return bool(cursor.fetchone()[0])


def _unlock(scope: str, key: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_id(scope, key)])
    except DatabaseError:
        # The connection broke (a database restart, a network cut): its locks went with it.
        logger.warning("idempotency key not unlocked: the database connection is gone", exc_info=True)


def idempotency_claim(
    *, scope: str, key: str, method: str, path: str, request_fingerprint: str
) -> IdempotencyRecord | StoredResponse:
    """Claim ``key`` for a new request, or return the response of the request that had it.

    A claimed key stays locked to this database connection until :func:`idempotency_complete`
    (or until the connection ends). A claim left by a request that died unanswered is taken over.

    Raises IdempotencyKeyInvalid, IdempotencyKeyReused or IdempotencyKeyInUse.
    """
    validate_key(key)
    if not _lock(scope, key):
        raise IdempotencyKeyInUse("The first request with this Idempotency-Key has not finished; retry shortly.")
    try:
        claimed = _claim(scope=scope, key=key, method=method, path=path, request_fingerprint=request_fingerprint)
    except BaseException:
        _unlock(scope, key)
        raise
    if isinstance(claimed, StoredResponse):
        _unlock(scope, key)
    return claimed


def _claim(*, scope: str, key: str, method: str, path: str, request_fingerprint: str
           ) -> IdempotencyRecord | StoredResponse:
    """Under the key's lock: no other live request has it."""
    now = clock.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                scope=scope, key=key, fingerprint=request_fingerprint, method=method,
                path=path[:512], created_at=now, locked_at=now,
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(scope=scope, key=key)
    if existing.created_at < now - settings.FINCORE_IDEMPOTENCY_TTL:
        # Expired but not purged yet: the key is free again.
        IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        return _claim(scope=scope, key=key, method=method, path=path, request_fingerprint=request_fingerprint)
    if existing.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was first used with another request "
            f"({existing.method} {existing.path} with a different body); use a new key."
        )
    if existing.response_status is not None:
        return StoredResponse(existing.response_status, existing.response_body, existing.response_headers)
    # Claimed and never answered, and its lock is free: the request that claimed it is gone.
    IdempotencyRecord.objects.filter(pk=existing.pk).update(locked_at=now)
    existing.locked_at = now
    return existing


def idempotency_complete(
    *, record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Store the answer for replay (a server error releases the key instead), and unlock it."""
    try:
        if status >= 500:
            IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()
        else:
            IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).update(
                response_status=status, response_body=body, response_headers=headers,
                completed_at=clock.now(),
            )
    finally:
        _unlock(record.scope, record.key)


def idempotency_purge_expired() -> int:
    """Forget keys older than the retention period; returns how many were removed."""
    cutoff = clock.now() - settings.FINCORE_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
