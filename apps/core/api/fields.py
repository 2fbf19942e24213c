"""Serializer fields the API shares."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids


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
