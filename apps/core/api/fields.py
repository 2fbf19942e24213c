"""Serializer fields the API shares."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids
from apps.core.money import MAX_AMOUNT


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


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "example": 12500})
class AmountField(serializers.Field):
    """An amount in minor units: a JSON integer, nothing else (no floats, no strings, no
    ``12.0``), from 1 to the largest bigint. 12.500 BHD is ``12500``."""

    default_error_messages = {
        "invalid": "Send an integer number of minor units, e.g. 12500 for 12.500 BHD.",
        "min_value": "Must be at least 1 minor unit.",
        "max_value": "Too large for the ledger.",
    }

    def to_internal_value(self, data: object) -> int:
        if type(data) is not int:  # bool is an int subclass; floats and strings are refused
            self.fail("invalid")
        if data < 1:
            self.fail("min_value")
        if data > MAX_AMOUNT:
            self.fail("max_value")
        return data

    def to_representation(self, value: int) -> int:
        return value
