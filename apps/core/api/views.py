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
from apps.core.models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers of the first response worth replaying with its body.
_REPLAYED_RESPONSE_HEADERS = ("Location",)


class _Replay(Exception):
    def __init__(self, stored: idempotency.StoredResponse) -> None:
        self.stored = stored


class IdempotentPostMixin:
    """Claims the request's Idempotency-Key before a POST runs and stores its answer after."""

    _idempotency_record: IdempotencyRecord | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if request.method != "POST" or key is None:
            return
        claimed = idempotency.idempotency_claim(
            scope=self.idempotency_scope(request),
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

    def idempotency_scope(self, request: Request) -> str:
        return str(request.auth.merchant_id)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            return Response(
                exc.stored.body,
                status=exc.stored.status,
                headers={**exc.stored.headers, REPLAYED_HEADER: "true"},
            )
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            idempotency.idempotency_complete(
                record=record,
                status=response.status_code,
                body=response.data,
                headers={h: response[h] for h in _REPLAYED_RESPONSE_HEADERS if h in response},
            )
        return response


class ApiView(IdempotentPostMixin, APIView):
    pass


class GenericApiView(IdempotentPostMixin, GenericAPIView):
    pass
