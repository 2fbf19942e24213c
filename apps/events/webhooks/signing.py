"""Webhook secrets and signatures (pure Python: no Django, no database).

An endpoint's signing secret is never stored. It is derived, when needed, from the platform's
master key, the endpoint's id and the secret's generation::

    whsec_ + hex(HMAC-SHA256(FINCORE_WEBHOOK_KEY, "<endpoint uuid>:<generation>"))

so rotating a secret is bumping the generation, and the old secret can stay valid for an
overlap window without being kept anywhere.

Each request carries ``Fincore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<raw body>")>``; during a rotation's overlap there is one ``v1`` per valid secret (as
Stripe does), so a receiver holding either secret accepts it. The key of the HMAC is the whole
secret string, ``whsec_`` included, in UTF-8.
"""

import hashlib
import hmac
from collections.abc import Sequence
from uuid import UUID

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Fincore-Signature"
SIGNATURE_SCHEME = "v1"
# How old a signed timestamp a receiver should accept (the README's advice; replays older
# than this are refused by a careful receiver).
DEFAULT_TOLERANCE_SECONDS = 300


def endpoint_secret(*, master_key: str, endpoint_id: UUID, generation: int) -> str:
    """The signing secret of ``generation`` of an endpoint: the same inputs, the same secret."""
    if generation < 1:
        raise ValueError("secret generations start at 1")
    digest = hmac.new(master_key.encode(), f"{endpoint_id}:{generation}".encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256(secret, "<timestamp>.<body>")."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The ``Fincore-Signature`` value: the timestamp, then one v1 per secret (newest first)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    parts = [f"t={timestamp}"] + [f"{SIGNATURE_SCHEME}={signature(secret=s, timestamp=timestamp, body=body)}"
                                  for s in secrets]
    return ",".join(parts)


def signature_verify(
    *, header: str, body: bytes, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: True if one ``v1`` of ``header`` is this secret's signature of
    ``body`` and the timestamp is within ``tolerance`` seconds of ``now``."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == SIGNATURE_SCHEME:
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
