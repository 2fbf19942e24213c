"""Base classes of every /api/v1/ view.

They add idempotency to every POST: DRF authenticates, checks permissions and rate limits in
``initial()``; the key is claimed right after, so only an accepted request can claim one.
"""

from typing import Any

from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import idempotency

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of the first response worth replaying with its body.
_REPLAYED_RESPONSE_HEADERS = ("Location",)


def request_idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key ("" without one), for a service that keeps one object per key
    (so a retry after a crash that lost the first answer finds what the first request made)."""
    return request.headers.get(IDEMPOTENCY_HEADER, "")


class _Replay(Exception):
    def __init__(self, stored: idempotency.StoredResponse) -> None:
        self.stored = stored


# Claims the request's Idempotency-Key before a POST runs and stores its answer after.
# (A comment, not a docstring: drf-spectacular would show an inherited docstring as the
# description of every endpoint that has none of its own.)
class IdempotentPostMixin:
    _idempotency_record: idempotency.ClaimedKey | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(IDEMPOTENCY_HEADER)
        # A POST the view does not handle is answered 405 and must not spend the key.
        if request.method != "POST" or key is None or "POST" not in self.allowed_methods:  # type: ignore[attr-defined]
            return
        scope = self.idempotency_scope(request)
        if scope is None:
            return
        claimed = idempotency.idempotency_claim(
            scope=scope,
            key=key,
            method=request.method,
            path=request.path,
            request_fingerprint=idempotency.fingerprint(
                method=request.method, path=request.path, body=request.data
            ),
        )
        if isinstance(claimed, idempotency.StoredResponse):
            raise _Replay(claimed)
        self._idempotency_record = claimed

    def idempotency_scope(self, request: Request) -> str | None:
        """Whose keys these are: the merchant's, in test or live mode (a test key's request never
        replays a live one's). A public endpoint has no scope and no replay."""
        merchant_id = getattr(request.auth, "merchant_id", None)
        if not merchant_id:
            return None
        return f"{merchant_id}:{'live' if request.auth.livemode else 'test'}"

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            headers = dict(exc.stored.headers)
            content_type = headers.pop("Content-Type", None)
            return Response(
                exc.stored.body,
                status=exc.stored.status,
                headers={**headers, REPLAYED_HEADER: "true"},
                content_type=content_type,
            )
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        record, self._idempotency_record = self._idempotency_record, None
        status, body, headers = 500, None, {}
        try:
            response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
            # A download streamed by a GET (a settlement report) is no DRF Response: no data to keep.
            status, body = response.status_code, getattr(response, "data", None)
            headers = {h: response[h] for h in _REPLAYED_RESPONSE_HEADERS if h in response}
            if getattr(response, "content_type", None):
                # Problem details have their own media type; a replayed refusal keeps it.
                headers["Content-Type"] = response.content_type
        finally:
            if record is not None:
                # Stores the answer (or releases the key after a server error) and unlocks it.
                idempotency.idempotency_complete(record=record, status=status, body=body, headers=headers)
        return response


class ApiView(IdempotentPostMixin, APIView):
    pass


class GenericApiView(IdempotentPostMixin, GenericAPIView):
    pass
