"""RFC 9457 problem details: the one shape of every API error.

    HTTP/1.1 422 Unprocessable Content
    Content-Type: application/problem+json

    {"type": "https://host/api/v1/problems/idempotency_key_reused",
     "title": "This Idempotency-Key was used with a different request",
     "status": 422, "detail": "...", "code": "idempotency_key_reused",
     "instance": "/api/v1/...", "request_id": "req_..."}

``code`` is stable: merchants branch on it. Field errors add ``errors``, one item per
problem with the ``field`` (dotted path), its own ``code`` and a ``detail``. DRF's exception
handler hook, Django's 404/500 handlers and the readiness probe all render through here.
"""

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.core import context
from apps.core.exceptions import FincoreError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"


# The plumbing's own problems. Services define theirs next to them.
class ValidationFailed(FincoreError):
    code = "validation_error"
    title = "The request has invalid fields"
    status = 400


class MalformedRequest(FincoreError):
    code = "malformed_request"
    title = "The request body could not be parsed"
    status = 400


class BadRequest(FincoreError):
    """The request itself is not one the server may process: a Host header it does not answer to,
    too many query parameters, or another request Django refuses as suspicious."""

    code = "bad_request"
    title = "The request could not be processed"
    status = 400


class InvalidCursor(FincoreError):
    """The ``cursor`` parameter is not one fincore made: follow the ``next`` and ``previous``
    links of a page, as given."""

    code = "invalid_cursor"
    title = "The cursor is not valid"
    status = 400


class NotAuthenticated(FincoreError):
    code = "not_authenticated"
    title = "Authentication is required"
    status = 401


class AuthenticationFailed(FincoreError):
    code = "authentication_failed"
    title = "The credentials are not valid"
    status = 401


class PermissionDenied(FincoreError):
    code = "permission_denied"
    title = "You may not do this"
    status = 403


class NotFound(FincoreError):
    code = "not_found"
    title = "No such object"
    status = 404


class MethodNotAllowed(FincoreError):
    code = "method_not_allowed"
    title = "This method is not allowed here"
    status = 405


class NotAcceptable(FincoreError):
    code = "not_acceptable"
    title = "No acceptable representation"
    status = 406


class LengthRequired(FincoreError):
    """The body came in a framing this server could not read (chunked, where the server in front
    does not decode it): send it with ``Content-Length``. Nothing was done."""

    code = "length_required"
    title = "Send the request body with Content-Length"
    status = 411


class RequestTooLarge(FincoreError):
    """The body is larger than the endpoint takes (``max_bytes`` says how large it may be)."""

    code = "request_too_large"
    title = "The request body is too large"
    status = 413


class UnsupportedMediaType(FincoreError):
    code = "unsupported_media_type"
    title = "Send JSON (Content-Type: application/json)"
    status = 415


class RateLimited(FincoreError):
    code = "rate_limited"
    title = "Too many requests"
    status = 429


class InternalError(FincoreError):
    code = "internal_error"
    title = "Something went wrong on our side"
    status = 500


class ServiceUnavailable(FincoreError):
    code = "service_unavailable"
    title = "A service fincore depends on is unavailable"
    status = 503


class DatabaseUnavailable(FincoreError):
    """The database could not be reached or the connection broke (a restart, a failover). Retry
    with the same Idempotency-Key: whatever the first try managed, the retry never does it twice."""

    code = "database_unavailable"
    title = "The database is unavailable"
    status = 503
    retry_after = 1


_DRF_EQUIVALENTS: tuple[tuple[type[Exception], type[FincoreError]], ...] = (
    (drf_exceptions.ParseError, MalformedRequest),
    (drf_exceptions.NotAuthenticated, NotAuthenticated),
    (drf_exceptions.AuthenticationFailed, AuthenticationFailed),
    (drf_exceptions.PermissionDenied, PermissionDenied),
    (DjangoPermissionDenied, PermissionDenied),
    (drf_exceptions.NotFound, NotFound),
    (Http404, NotFound),
    (drf_exceptions.MethodNotAllowed, MethodNotAllowed),
    (drf_exceptions.NotAcceptable, NotAcceptable),
    (drf_exceptions.UnsupportedMediaType, UnsupportedMediaType),
    (drf_exceptions.Throttled, RateLimited),
)


def problem_body(
    problem: type[FincoreError],
    *,
    request: HttpRequest | None,
    detail: str | None = None,
    code: str | None = None,
    status: int | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    code = code or problem.code
    type_path = f"/api/v1/problems/{code}"
    body: dict[str, Any] = {
        "type": _absolute_uri(request, type_path),
        "title": FincoreError.catalogue.get(code, problem).title,
        "status": status or problem.status,
        "detail": detail or problem.title,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.path
    request_id = context.current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return body


def _absolute_uri(request: HttpRequest | None, path: str) -> str:
    """``path`` on the host the caller asked for; only the path when that host is not ours (a
    problem about the Host header must not raise the same error again while it is written)."""
    if request is None:
        return path
    try:
        return request.build_absolute_uri(path)
    except DisallowedHost:
        return path


def field_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested error detail into one entry per failing field."""
    if isinstance(detail, dict):
        errors = []
        for name, nested in detail.items():
            # A nested serializer's own errors (a list too long, an object expected) belong to its field.
            field = path if name == "non_field_errors" else (f"{path}.{name}" if path else str(name))
            errors.extend(field_errors(nested, field))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, drf_exceptions.ErrorDetail) for item in detail):
            return [{"field": path, "code": item.code, "detail": str(item)} for item in detail]
        errors = []
        for index, nested in enumerate(detail):
            errors.extend(field_errors(nested, f"{path}.{index}" if path else str(index)))
        return errors
    return [{"field": path, "code": getattr(detail, "code", "invalid"), "detail": str(detail)}]


def _drf_code(exc: drf_exceptions.APIException, default: str) -> str:
    """An authentication or permission failure may name a more precise registered code."""
    detail_code = getattr(exc.detail, "code", None)
    if isinstance(detail_code, str) and detail_code in FincoreError.catalogue:
        return detail_code
    return default


def exception_handler(exc: Exception, drf_context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes problem details, a 500 included."""
    # Imported here: rest_framework.views loads the API's parsers, which raise this module's problems.
    from rest_framework.views import set_rollback

    request = drf_context.get("request")
    view = drf_context.get("view")
    headers: dict[str, str] = {}

    if isinstance(exc, FincoreError):
        body = problem_body(type(exc), request=request, detail=exc.detail, **exc.extensions)
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, OperationalError | InterfaceError):
        # An outage, not a bug: the connection failed or broke. The log keeps the cause; the caller
        # retries, and Idempotency-Keys (kept by the services themselves) make that safe.
        logger.warning("database unavailable", exc_info=exc)
        body = problem_body(DatabaseUnavailable, request=request,
                            detail="The database is unavailable. Retry shortly with the same Idempotency-Key.")
        headers["Retry-After"] = str(DatabaseUnavailable.retry_after)
    elif isinstance(exc, SuspiciousOperation):
        refusal = django_refusal(exc)
        body = problem_body(type(refusal), request=request, detail=refusal.detail, **refusal.extensions)
    elif isinstance(exc, drf_exceptions.ValidationError):
        body = problem_body(
            ValidationFailed,
            request=request,
            detail="Some fields are invalid; see errors.",
            errors=field_errors(exc.detail),
        )
    else:
        problem = next((p for kind, p in _DRF_EQUIVALENTS if isinstance(exc, kind)), None)
        if problem is None:
            logger.exception("unhandled error in API view", exc_info=exc)
            body = problem_body(InternalError, request=request)
        else:
            if isinstance(exc, drf_exceptions.APIException):
                body = problem_body(
                    problem,
                    request=request,
                    detail=str(exc.detail),
                    code=_drf_code(exc, problem.code),
                    # DRF answers 403 for an authentication failure when no scheme applies.
                    status=exc.status_code,
                )
            else:
                body = problem_body(problem, request=request)
            if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
                retry_after = max(1, math.ceil(exc.wait))
                headers["Retry-After"] = str(retry_after)
                body["retry_after"] = retry_after
            if isinstance(exc, drf_exceptions.MethodNotAllowed) and view is not None:
                headers["Allow"] = ", ".join(view.allowed_methods)
            if auth_header := getattr(exc, "auth_header", None):
                headers["WWW-Authenticate"] = auth_header
    set_rollback()
    return ProblemResponse(body, status=body["status"], headers=headers)


class ProblemResponse(Response):
    """A problem, rendered as JSON whichever renderers the view offers: the schema view renders
    YAML and the docs view HTML, but their errors are problem details like every other."""

    def __init__(self, data: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(data, content_type=CONTENT_TYPE, **kwargs)

    @property
    def rendered_content(self) -> bytes:
        self["Content-Type"] = CONTENT_TYPE
        return JSONRenderer().render(self.data)


def django_refusal(exc: Exception) -> FincoreError:
    """The problem for a request Django refuses (as suspicious, mostly), said without echoing it."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return RequestTooLarge(f"The body may be at most {limit} bytes.", max_bytes=limit)
    if isinstance(exc, DisallowedHost):
        return BadRequest("The Host header names a host this server does not answer to.")
    if isinstance(exc, TooManyFieldsSent):
        return BadRequest(f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query parameters or form fields.")
    return BadRequest()


def django_error_response(request: HttpRequest, problem: type[FincoreError], **kwargs: Any) -> JsonResponse:
    """A problem response outside DRF (URL not found, crash in middleware, readiness)."""
    body = problem_body(problem, request=request, **kwargs)
    return JsonResponse(body, status=body["status"], content_type=CONTENT_TYPE)


def catalogue_entry(code: str) -> dict[str, Any] | None:
    problem = FincoreError.catalogue.get(code)
    if problem is None:
        return None
    return {
        "code": problem.code,
        "title": problem.title,
        "status": problem.status,
        "description": " ".join((problem.__doc__ or problem.title).split()),
    }


def catalogue() -> list[dict[str, Any]]:
    return [catalogue_entry(code) for code in sorted(FincoreError.catalogue)]
