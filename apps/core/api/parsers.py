"""Request body parsers of every /api/v1/ endpoint."""

import io
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.parsers import JSONParser as DrfJSONParser
from rest_framework.renderers import JSONRenderer

from apps.core.api.limits import MAX_BODY_BYTES
from apps.core.api.problems import RequestTooLarge


def body_limit(view: object) -> int:
    """The most bytes ``view`` takes in a body: its ``max_body_bytes``, else the API's default."""
    return getattr(view, "max_body_bytes", MAX_BODY_BYTES)


class JSONParser(BaseParser):
    """JSON bodies, up to the view's limit, parsed by DRF's JSON parser.

    The limit is the view's (``body_limit``): a body declared larger is refused with 413 before a
    byte of it is read, and no more than the limit is ever read. (DRF hands its own JSON parser,
    and subclasses of it, Django's ``request.body``, which is bounded by one limit for the whole
    site; this parser reads the stream itself, so each endpoint has its own.)

    A body nested too deeply is a malformed request: Python's json module parses nesting by
    recursion and raises RecursionError past the interpreter's limit (``[[[[...`` a few thousand
    deep is enough); DRF catches only ValueError, so such a body would be a 500 instead of a 400.
    """

    media_type = DrfJSONParser.media_type
    renderer_class = JSONRenderer

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        limit = body_limit((parser_context or {}).get("view"))
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise _too_large(limit)
        try:
            return DrfJSONParser().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as too_deep:
            raise ParseError("JSON parse error - the body is nested too deeply.") from too_deep


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"This endpoint takes a body of at most {limit} bytes.", max_bytes=limit)
