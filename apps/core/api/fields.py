"""Serializer fields the API shares."""

import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids
from apps.core.api.limits import MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEYS
from apps.core.api.schema import TEXT_PATTERN
from apps.core.countries import countries
from apps.core.currencies import CURRENCIES, LARGEST_AMOUNT, is_currency


class PublicIdField(serializers.Field):
    """A UUID primary key shown as ``<prefix>_<base32>`` (``mer_01JDX...``); its schema is the
    pattern of its prefix (``PublicIdFieldSchema``)."""

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


_EXAMPLE_ID = "01M8W0567DF08BFWCGQE1DJEE6"


def public_id_pattern(prefix: str) -> str:
    """What ``ids.decode(prefix, ...)`` accepts: the prefix, then 26 characters of Crockford
    base32 (either case) of which the first is at most 7 (an id holds 128 bits, not 130)."""
    return f"^{prefix}_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{{25}}$"


class PublicIdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PublicIdField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        prefix = self.target.prefix
        return {"type": "string", "pattern": public_id_pattern(prefix), "example": f"{prefix}_{_EXAMPLE_ID}"}


class CurrencyCodeField(serializers.CharField):
    """An ISO 4217 code (``BHD``): three characters here; the serializer checks it is a currency
    (and, where it matters, one of the merchant's) with its own messages. The schema lists them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 4217, e.g. BHD.")
        super().__init__(min_length=3, max_length=3, **kwargs)


class CurrencyCodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CurrencyCodeField

    def get_name(self) -> str:
        return "CurrencyCode"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": list(CURRENCIES), "description": "An ISO 4217 currency code."}


class CountryCodeField(serializers.CharField):
    """An ISO 3166-1 alpha-2 code (``BH``); the serializer checks it is a country."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2, e.g. BH.")
        super().__init__(min_length=2, max_length=2, **kwargs)


class CountryCodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CountryCodeField

    def get_name(self) -> str:
        return "CountryCode"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(countries()), "description": "An ISO 3166-1 alpha-2 country code."}


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


# Strings PostgreSQL can store: no NUL (the schema cannot say "no unpaired surrogate"; JSON
# encoders do not write them).
_TEXT = {"type": "string", "pattern": TEXT_PATTERN}


class MetadataFieldSchema(OpenApiSerializerFieldExtension):
    """An object (never null), at most ``MAX_METADATA_KEYS`` keys; flat metadata's values are
    strings, integers or booleans."""

    target_class = MetadataField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        values: dict[str, Any] = (
            {"oneOf": [_TEXT, build_basic_type(OpenApiTypes.INT), build_basic_type(OpenApiTypes.BOOL)]}
            if self.target.flat else {}
        )
        return {"type": "object", "maxProperties": MAX_METADATA_KEYS, "additionalProperties": values}


def iso_currency(currency: str) -> str:
    """``currency`` if it is an ISO 4217 code; else a field error."""
    if not is_currency(currency):
        raise serializers.ValidationError(f"{currency!r} is not an ISO 4217 currency code.")
    return currency


def merchant_currency(currency: str, merchant_currencies: Sequence[str]) -> str:
    """``currency`` if it is ISO 4217 and one the merchant is set up for; else a field error."""
    iso_currency(currency)
    if currency not in merchant_currencies:
        raise serializers.ValidationError(
            f"Your account is set up for {', '.join(merchant_currencies)}; ask us to add {currency}."
        )
    return currency
