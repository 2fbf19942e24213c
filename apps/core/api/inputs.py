"""What the API reads, read as its schema says: JSON bodies with the JSON types the schema gives,
and query strings whose parameters are given once each."""

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

# DRF coerces: 12 into "12" for a text field, "true" and 1 into True, "60" into 60. The API's
# schema promises types, so a body field of another JSON type is refused, with DRF's own message.
_JSON_TYPES: tuple[tuple[type[serializers.Field], type], ...] = (
    (serializers.BooleanField, bool),
    (serializers.IntegerField, int),
    (serializers.CharField, str),
)


def _type_problem(field: serializers.Field, value: Any) -> str | None:
    if isinstance(field, serializers.ListField) and isinstance(value, list) and field.child is not None:
        return next(filter(None, (_type_problem(field.child, item) for item in value)), None)
    for kind, json_type in _JSON_TYPES:
        if isinstance(field, kind):
            # bool is an int to Python, not to JSON.
            if not isinstance(value, json_type) or (json_type is not bool and isinstance(value, bool)):
                return str(field.error_messages["invalid"])
            return None
    return None


# A JSON request body, each field of the JSON type the schema gives it (null where allowed). (A
# comment, not a docstring: drf-spectacular would publish it as the description of every body.)
class BodySerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        mistyped = {
            name: [ErrorDetail(problem, code="invalid")]
            for name, field in self.fields.items()
            if not field.read_only and data.get(name) is not None and (problem := _type_problem(field, data[name]))
        }
        if not mistyped:
            return super().to_internal_value(data)
        # The other fields are checked as usual, so every invalid field is listed at once.
        try:
            super().to_internal_value({name: value for name, value in data.items() if name not in mistyped})
            others: dict[str, Any] = {}
        except serializers.ValidationError as invalid:
            others = dict(invalid.detail) if isinstance(invalid.detail, dict) else {}
        errors = {**others, **mistyped}
        raise serializers.ValidationError({name: errors[name] for name in self.fields if name in errors})


# The filters of a list: each given at most once, and a filter given empty (``?status=``) is a
# value like any other, refused where it is not valid. (DRF reads a query string as an HTML form,
# where an empty field means the field was left out: ``?status=`` would list everything.)
# Parameters the serializer does not declare (``cursor``, ``limit``) are not its business.
class QuerySerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            repeated = {name: ["Give this parameter once."] for name, values in data.lists()
                        if len(values) > 1 and name in self.fields}
            if repeated:
                raise serializers.ValidationError(repeated)
            data = data.dict()
        return super().to_internal_value(data)
