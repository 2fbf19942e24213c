"""The journal's cryptography, as pure functions (no Django), so it is easy to check by hand.

- ``signature(key, content)``: HMAC-SHA256 over the canonical JSON of an event's content.
  Written with the row; without the key, a row cannot be forged or edited undetected.
- ``link(prev_hash, seq, event_id, signature)``: SHA-256 binding an event into the chain at
  position ``seq`` after ``prev_hash``; reordering, removing or inserting a seal breaks
  every later link.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The signed fields, in the order a reader would list them. Adding one is a new chain format.
SIGNED_FIELDS = (
    "uid",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "merchant_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
    "request_id",
    "ip",
)


def canonical_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(content: dict[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(key: bytes, content: dict[str, Any]) -> str:
    return hmac.new(key, canonical(content), hashlib.sha256).hexdigest()


def link(prev_hash: str, seq: int, event_id: int, event_signature: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{event_id}|{event_signature}".encode()).hexdigest()
