"""OpenAPI additions drf-spectacular cannot infer: problem responses, Idempotency-Key, and what
the API's text fields refuse."""

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers

# Python's str.strip() removes these (DRF trims every text field before checking it is not blank).
_STRIPPED = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
TEXT_PATTERN = "^[^\\u0000]*$"
"""Any text PostgreSQL can store: no NUL character (DRF refuses it in every text field)."""
NON_EMPTY_TEXT_PATTERN = "^[^\\u0000]+$"
"""Text of at least one character, and no NUL."""
NON_BLANK_TEXT_PATTERN = f"^[^\\u0000]*[^{_STRIPPED}\\u0000][^\\u0000]*$"
"""Text that is not blank once trimmed, and has no NUL."""


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, saying of each text field of a request what DRF refuses: a NUL, and
    (where blank is not allowed) text that is only white space."""

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request" and isinstance(field, serializers.CharField) and isinstance(schema, dict)
            and schema.get("type") == "string" and not {"enum", "pattern", "format"} & set(schema)
        ):
            if field.allow_blank:
                # drf-spectacular adds "" as a oneOf branch of its own: this one must not match it too.
                schema["pattern"] = NON_EMPTY_TEXT_PATTERN
            else:
                schema["pattern"] = NON_BLANK_TEXT_PATTERN if field.trim_whitespace else NON_EMPTY_TEXT_PATTERN
        return schema

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. Branch on `code`, which is stable.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "description": "Documentation of the problem type."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong with this request."},
        "code": {"type": "string", "description": "Stable machine-readable code.", "example": "validation_error"},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "Quote it when contacting support."},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (validation_error only).",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "example": "amount"},
                    "code": {"type": "string", "example": "required"},
                    "detail": {"type": "string"},
                },
            },
        },
        "retry_after": {"type": "integer", "description": "Seconds to wait (rate_limited only)."},
    },
}

_ALWAYS = {"400": "Invalid request (`validation_error`, `malformed_request`)", "500": "Server error"}
# Answered by the web server in front of Django (gunicorn), before fincore sees the request.
URI_TOO_LONG = {
    "description": "The URL is longer than the web server takes (a request line of 4,094 bytes); answered by "
                   "the server itself, as text/html rather than problem details.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
_SECURED = {
    "401": "Missing, unknown or revoked API key",
    "403": "The merchant is suspended",
    "429": "Rate limit exceeded; see the Retry-After header",
}
_NOT_FOUND = {"404": "No such object (or it belongs to another merchant)"}
_POST = {
    "409": "A request with this Idempotency-Key is in progress (`idempotency_key_in_use`)",
    "422": "Refused (the `code` says why), or Idempotency-Key reused with another body",
}

IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # Printable ASCII, not only spaces (a header value is trimmed).
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]*[!-~][ -~]*$"},
    "description": (
        "Any unique string (a UUID is ideal) up to 255 characters. Retrying with the same key and "
        "body returns the first response with `Idempotent-Replayed: true`; keys are kept 24 hours."
    ),
}


def add_problem_responses(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            secured = any(requirement for requirement in operation.get("security", [{}]))
            statuses = {
                **_ALWAYS,
                **(_SECURED if secured else {}),
                **(_NOT_FOUND if "{" in path else {}),
                **(_POST if method == "post" else {}),
            }
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, "content": problem_content})
            responses.setdefault("414", URI_TOO_LONG)
            for status, response in responses.items():
                # An error a view documents itself (a 404 for an object its body names) is a problem too.
                if status.isdigit() and int(status) >= 400 and not response.get("content"):
                    response["content"] = problem_content
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
            _require_non_empty_body(operation, schemas)
    return result


def _require_non_empty_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body that must have fields (some required, or at least one) cannot be left out either."""
    body = operation.get("requestBody")
    if not body:
        return
    for content in body.get("content", {}).values():
        schema = content.get("schema", {})
        reference = schema.get("$ref", "")
        schema = schemas.get(reference.rpartition("/")[2], schema) if reference else schema
        if schema.get("required") or schema.get("minProperties"):
            body["required"] = True
