"""Request body parsers of every /api/v1/ endpoint."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DrfJSONParser


class JSONParser(DrfJSONParser):
    """DRF's JSON parser, refusing a body nested too deeply to parse as a malformed request.

    Python's json module parses nesting by recursion and raises RecursionError past the
    interpreter's limit (``[[[[...`` a few thousand deep is enough); DRF catches only ValueError,
    so such a body would be a 500 instead of a 400.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as too_deep:
            raise ParseError("JSON parse error - the body is nested too deeply.") from too_deep
