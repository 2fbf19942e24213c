"""Binds each request's id and client address, and writes one structured access log line."""

import ipaddress
import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core import context

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
