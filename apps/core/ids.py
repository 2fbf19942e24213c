"""Identifiers: time-ordered UUIDs in the database, prefixed ids in the API.

A row's primary key is a UUIDv7 (RFC 9562): unique without coordination and ordered by
creation time, so indexes stay compact and cursor pagination follows creation order.
Merchants see it as ``<prefix>_<26 characters of Crockford base32>`` (``mer_01JDX3...``),
so an id pasted into the wrong endpoint is refused instead of silently matching nothing.
"""

import os
import threading
import time
import uuid
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {character: value for value, character in enumerate(_ALPHABET)}
_ENCODED_LENGTH = 26  # ceil(128 / 5)


_RANDOM_BITS = 74
_lock = threading.Lock()
_last = (0, 0)  # (unix ms, 74-bit random part) of the newest id this process made


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits.

    Within one millisecond of one process, ids are strictly increasing (RFC 9562, method 2:
    the random part of the previous id plus a random step), so "newest first" is exact for
    rows a process creates in a burst. A clock stepped back is followed, not fought.
    """
    global _last
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        last_ms, last_random = _last
        if unix_ms == last_ms:
            random_part = last_random + 1 + int.from_bytes(os.urandom(4), "big")
            if random_part >> _RANDOM_BITS:  # the millisecond's space is used up: borrow the next
                unix_ms, random_part = last_ms + 1, int.from_bytes(os.urandom(10), "big") >> 6
        else:
            random_part = int.from_bytes(os.urandom(10), "big") >> 6
        _last = (unix_ms, random_part)
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (random_part >> 62) << 64  # rand_a: the top 12 random bits
    value |= 0b10 << 62  # variant
    value |= random_part & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of ``moment``'s millisecond: every id made at or after it is not
    smaller, so ``pk < uuid7_floor(t)`` selects the rows created before ``t`` by their index."""
    unix_ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=((unix_ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (0b10 << 62))


def encode(prefix: str, value: uuid.UUID) -> str:
    number = value.int
    characters = []
    for _ in range(_ENCODED_LENGTH):
        characters.append(_ALPHABET[number & 0x1F])
        number >>= 5
    return f"{prefix}_{''.join(reversed(characters))}"


def decode(prefix: str, public_id: str) -> uuid.UUID | None:
    """The UUID behind ``public_id``, or None when it is not a well-formed id of ``prefix``."""
    if not isinstance(public_id, str):
        return None
    head, separator, body = public_id.partition("_")
    # ASCII only: upper-casing would turn some other letters into Crockford's (U+017F into 'S').
    if separator != "_" or head != prefix or len(body) != _ENCODED_LENGTH or not body.isascii():
        return None
    number = 0
    for character in body.upper():
        digit = _DECODE.get(character)
        if digit is None:
            return None
        number = (number << 5) | digit
    if number >> 128:
        return None
    return uuid.UUID(int=number)


def is_public_id(text: str) -> bool:
    """Whether ``text`` has the shape of a public id of any prefix (``pay_`` + 26 characters)."""
    head, separator, _ = text.partition("_")
    return (separator == "_" and 1 <= len(head) <= 8 and head.isascii() and head.isalpha() and head.islower()
            and decode(head, text) is not None)
