"""The journal's cryptography, as pure functions (no Django), so it is easy to check by hand.

- ``signature(key, content)``: HMAC-SHA256 over the canonical JSON of an event's content.
  Written with the row; without the key, a row cannot be forged or edited undetected.
- ``link(key, prev_hash, seq, event_id, signature)``: HMAC-SHA256 binding an event into the
  chain at position ``seq`` after ``prev_hash``; reordering, removing or inserting a seal breaks
  every later link, and without the key the links cannot be recomputed to hide it.
"""

import hashlib
import hmac
import ipaddress
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


def canonical_ip(value: str | None) -> str | None:
    """One spelling per address, whichever way Python, Django or PostgreSQL wrote it
    (``2001:DB8::0:1``, ``::ffff:c000:20a`` and ``::ffff:192.0.2.10`` all read back differently)."""
    if value is None:
        return None
    try:
        return ipaddress.ip_address(value).exploded
    except ValueError:
        return value  # not an address: signed as it is, so it fails verification


def canonical(content: dict[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(key: bytes, content: dict[str, Any]) -> str:
    return hmac.new(key, canonical(content), hashlib.sha256).hexdigest()


def link(key: bytes, prev_hash: str, seq: int, event_id: int, event_signature: str) -> str:
    return hmac.new(key, f"{prev_hash}|{seq}|{event_id}|{event_signature}".encode(), hashlib.sha256).hexdigest()
