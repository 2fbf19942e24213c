"""Idempotency keys: a retried POST replays the first response instead of acting twice.

The key is scoped to a merchant and kept for ``FINCORE_IDEMPOTENCY_TTL`` (24 h at least).
The first request with a key claims it; while it runs, a concurrent duplicate is refused; once
it has answered, a retry with the same body gets the same status and body back, and a retry
with a different body is refused. A 5xx answer releases the key: the services behind every
endpoint own their transactions, so a failed request changed nothing and may be retried.

A request that crashed mid-way leaves its claim behind; after ``IN_PROGRESS_LEASE`` a retry
may take it over. The lease outlasts any request: database statements stop at
``FINCORE_DB_STATEMENT_TIMEOUT_MS`` and the ledger's group commit at 30 s. The money-moving
services underneath deduplicate on the same key, so even a retry that took over cannot act twice.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core import clock
from apps.core.exceptions import FincoreError
from apps.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
IN_PROGRESS_LEASE = timedelta(seconds=120)


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


def idempotency_claim(
    *, scope: str, key: str, method: str, path: str, request_fingerprint: str
) -> IdempotencyRecord | StoredResponse:
    """Claim ``key`` for a new request, or return the response of the request that had it.

    Raises IdempotencyKeyInvalid, IdempotencyKeyReused or IdempotencyKeyInUse.
    """
    validate_key(key)
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
        return idempotency_claim(
            scope=scope, key=key, method=method, path=path, request_fingerprint=request_fingerprint
        )
    if existing.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was first used with another request "
            f"({existing.method} {existing.path} with a different body); use a new key."
        )
    if existing.response_status is not None:
        return StoredResponse(existing.response_status, existing.response_body, existing.response_headers)
    if existing.locked_at > now - IN_PROGRESS_LEASE:
        raise IdempotencyKeyInUse(
            "The first request with this Idempotency-Key has not finished; retry shortly."
        )
    taken_over = IdempotencyRecord.objects.filter(
        pk=existing.pk, locked_at=existing.locked_at, response_status__isnull=True
    ).update(locked_at=now)
    if not taken_over:
        raise IdempotencyKeyInUse("Another retry with this Idempotency-Key took it over.")
    existing.locked_at = now
    return existing


def idempotency_complete(
    *, record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Store the answer for replay; a server error releases the key instead."""
    if status >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).update(
        response_status=status, response_body=body, response_headers=headers,
        completed_at=clock.now(),
    )


def idempotency_purge_expired() -> int:
    """Forget keys older than the retention period; returns how many were removed."""
    cutoff = clock.now() - settings.FINCORE_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
