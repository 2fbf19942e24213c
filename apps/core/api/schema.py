"""OpenAPI additions drf-spectacular cannot infer: problem responses and Idempotency-Key."""

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. Branch on `code`, which is stable.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Documentation of the problem type."},
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
    "schema": {"type": "string", "maxLength": 255},
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
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
    return result
