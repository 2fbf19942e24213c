"""What every request goes through before a view: its body made readable (WSGI), its framing
checked, its id and client address bound, and one structured access log line written."""

import io
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core import context
from apps.core.api.limits import MAX_BATCH_BODY_BYTES
from apps.core.api.problems import LengthRequired, django_error_response

logger = logging.getLogger("fincore.request")

# A caller may bring its own request id to correlate our logs with theirs; anything
# unusual is replaced rather than echoed into logs and headers.
_CALLER_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For as set by our trusted proxies."""
    address = request.META.get("REMOTE_ADDR")
    hops = settings.FINCORE_PROXY_HOPS
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return ipaddress.ip_address(address).compressed if address else None
    except ValueError:
        return None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        caller_id = request.headers.get("X-Request-Id", "")
        request_id = caller_id if _CALLER_REQUEST_ID.match(caller_id) else context.new_request_id()
        request.request_id = request_id
        started = time.perf_counter()
        with context.bound(request_id=request_id, client_ip=client_ip(request)):
            response = self.get_response(request)
            response["X-Request-Id"] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response


# --- request bodies ---------------------------------------------------------------------------

WsgiApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ChunkedRequestBodies:
    """WSGI middleware: a chunked request body, read where the server decoded it, handed to Django
    as if it had come with ``Content-Length``.

    Django reads ``CONTENT_LENGTH`` bytes of a body and no more; a chunked request has no
    ``Content-Length``, so without this its body would be read as empty and a POST would act as
    ``{}`` (a capture of everything, say). gunicorn decodes the chunks and says so with
    ``wsgi.input_terminated`` (reading ``wsgi.input`` to its end is then safe): the body is read
    here, up to ``max_bytes`` + 1 (what the largest endpoint takes; one byte more is enough for
    the view to refuse it as too large). Where the server does not say so (``runserver``), the
    request is left as it came and ``RequestFramingMiddleware`` refuses it.
    """

    def __init__(self, application: WsgiApplication, *, max_bytes: int = MAX_BATCH_BODY_BYTES) -> None:
        self.application = application
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _chunked(environ) and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            body = _read_at_most(environ["wsgi.input"], self.max_bytes + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.application(environ, start_response)


def _chunked(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower() == "chunked"


def _read_at_most(stream: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        part = stream.read(min(remaining, 64 * 1024))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class RequestFramingMiddleware:
    """A request body Django cannot read is refused (411 ``length_required``), never taken as
    empty: a ``Transfer-Encoding`` that reaches Django was not decoded by the layers below
    (``ChunkedRequestBodies`` removes the header once it has read the body)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            detail = "This server could not read a body sent with Transfer-Encoding; send it with Content-Length."
            if request.path.startswith("/api/"):
                return django_error_response(request, LengthRequired, detail=detail)
            return HttpResponse(detail, status=411, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
