"""Serializer fields the API shares."""

import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids
from apps.core.currencies import LARGEST_AMOUNT, is_currency


@extend_schema_field(OpenApiTypes.STR)
class PublicIdField(serializers.Field):
    """A UUID primary key shown as ``<prefix>_<base32>`` (``mer_01JDX...``)."""

    default_error_messages = {"invalid": "Not a valid {prefix} id."}

    def __init__(self, prefix: str, **kwargs: object) -> None:
        self.prefix = prefix
        super().__init__(**kwargs)

    def to_representation(self, value: uuid.UUID) -> str:
        return ids.encode(self.prefix, value)

    def to_internal_value(self, data: object) -> uuid.UUID:
        decoded = ids.decode(self.prefix, data) if isinstance(data, str) else None
        if decoded is None:
            self.fail("invalid", prefix=self.prefix)
        return decoded


@extend_schema_field({
    "type": "integer", "format": "int64", "minimum": 1, "maximum": LARGEST_AMOUNT, "example": 12500,
    "description": f"Minor units of the currency (12.500 BHD is 12500), 1 to {LARGEST_AMOUNT} (15 digits).",
})
class AmountField(serializers.Field):
    """An amount in minor units: a JSON integer, nothing else (no floats, no strings, no
    ``12.0``), from 1 to ``LARGEST_AMOUNT`` (15 digits, in any currency). 12.500 BHD is ``12500``."""

    default_error_messages = {
        "invalid": "Send an integer number of minor units, e.g. 12500 for 12.500 BHD.",
        "min_value": "Must be at least 1 minor unit.",
        "max_value": f"At most {LARGEST_AMOUNT} minor units (15 digits).",
    }

    def to_internal_value(self, data: object) -> int:
        if type(data) is not int:  # bool is an int subclass; floats and strings are refused
            self.fail("invalid")
        if data < 1:
            self.fail("min_value")
        if data > LARGEST_AMOUNT:
            self.fail("max_value")
        return data

    def to_representation(self, value: int) -> int:
        return value


MAX_METADATA_KEYS = 50
MAX_METADATA_DEPTH = 5  # the metadata object itself is the first level
MAX_METADATA_BYTES = 8 * 1024  # as compact JSON in UTF-8
METADATA_HELP = (
    f"Your own key-value data, returned as given: at most {MAX_METADATA_KEYS} keys, "
    f"{MAX_METADATA_DEPTH} levels of objects and arrays and {MAX_METADATA_BYTES // 1024} KB of JSON; "
    "no NUL characters or unpaired surrogates."
)
FLAT_METADATA_HELP = (
    f"Your own keys and values, returned as given: at most {MAX_METADATA_KEYS} keys, values strings, "
    f"integers or booleans, {MAX_METADATA_BYTES // 1024} KB of JSON; no NUL characters or unpaired surrogates."
)


def _text_problem(text: str) -> str | None:
    """Why PostgreSQL's jsonb would refuse this string, if it would."""
    if "\x00" in text:
        return "Keys and values may not contain the NUL character (\\u0000)."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # json decodes a \ud83d\ude00 pair into one character: any surrogate left is unpaired.
        return "Keys and values may not contain unpaired surrogates (\\ud800 to \\udfff)."
    return None


def validate_metadata(value: Any, *, flat: bool = False) -> dict[str, Any]:
    """Metadata PostgreSQL can store (jsonb refuses NUL and unpaired surrogates, and so would
    answer a 500) and small enough to carry on every row. ``flat``: one level, values strings,
    integers or booleans only. Walked without recursion, so no nesting the JSON parser accepted
    can exhaust the stack here."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("Send an object of keys and values.")
    if len(value) > MAX_METADATA_KEYS:
        raise serializers.ValidationError(f"At most {MAX_METADATA_KEYS} keys.")
    if flat:
        for key, scalar in value.items():
            if not isinstance(scalar, str | int | bool):
                raise serializers.ValidationError(f"{key}: values are strings, integers or booleans.")
    unvisited: list[tuple[Any, int]] = [(value, 1)]
    while unvisited:
        node, depth = unvisited.pop()
        if isinstance(node, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise serializers.ValidationError(
                    f"At most {MAX_METADATA_DEPTH} levels of objects and arrays, counting metadata itself."
                )
            if isinstance(node, dict):
                for key in node:
                    problem = _text_problem(key) if isinstance(key, str) else "Keys must be strings."
                    if problem:
                        raise serializers.ValidationError(problem)
                unvisited += ((child, depth + 1) for child in node.values())
            else:
                unvisited += ((child, depth + 1) for child in node)
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                raise serializers.ValidationError(problem)
        elif isinstance(node, float):
            # JSON has no infinity, but Python's parser reads 1e999 as one; jsonb would refuse it.
            if not math.isfinite(node):
                raise serializers.ValidationError("Numbers must be finite (1e999 is too large).")
        elif node is not None and not isinstance(node, bool | int):
            raise serializers.ValidationError("Send only JSON objects, arrays, strings, numbers, booleans and null.")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise serializers.ValidationError(f"At most {MAX_METADATA_BYTES} bytes of JSON; this is {size}.")
    return value


class MetadataField(serializers.JSONField):
    """A merchant's metadata: validated before DRF's own JSON round trip, which recurses."""

    def __init__(self, *, flat: bool = False, **kwargs: Any) -> None:
        self.flat = flat
        kwargs.setdefault("help_text", FLAT_METADATA_HELP if flat else METADATA_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return validate_metadata(data, flat=self.flat)


def merchant_currency(currency: str, merchant_currencies: Sequence[str]) -> str:
    """``currency`` if it is ISO 4217 and one the merchant is set up for; else a field error."""
    if not is_currency(currency):
        raise serializers.ValidationError(f"{currency!r} is not an ISO 4217 currency code.")
    if currency not in merchant_currencies:
        raise serializers.ValidationError(
            f"Your account is set up for {', '.join(merchant_currencies)}; ask us to add {currency}."
        )
    return currency
