"""Identifiers: time-ordered UUIDs in the database, prefixed ids in the API.

A row's primary key is a UUIDv7 (RFC 9562): unique without coordination and ordered by
creation time, so indexes stay compact and cursor pagination follows creation order.
Merchants see it as ``<prefix>_<26 characters of Crockford base32>`` (``mer_01JDX3...``),
so an id pasted into the wrong endpoint is refused instead of silently matching nothing.
"""

import os
import time
import uuid

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {character: value for value, character in enumerate(_ALPHABET)}
_ENCODED_LENGTH = 26  # ceil(128 / 5)


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits."""
    unix_ms = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((random_bits >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= random_bits & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


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
    if separator != "_" or head != prefix or len(body) != _ENCODED_LENGTH:
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
