"""fincore's URLs plus the benchmark's trivial endpoint (``bench.settings`` only, never in the product)."""

from django.db import connection
from django.urls import path
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.views import ApiView
from fincore.urls import handler404, handler500
from fincore.urls import urlpatterns as fincore_urlpatterns

PING_TABLE = "bench_ping"
BARE_PATH = "/api/v1/bench/bare"
# The bare endpoint has no merchant: its rows all name this one.
NO_MERCHANT = "00000000-0000-0000-0000-000000000000"


class PingApi(ApiView):
    """The floor under every API figure: the real authentication, throttle, idempotency and
    base view, then one single-row INSERT in its own transaction (the table exists only in the
    benchmark's database; ``bench.ledger`` creates it)."""

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {PING_TABLE} (merchant_id, created_at) VALUES (%s, now())", [request.user.pk])
        return Response({"ok": True}, status=201)


class BarePingApi(APIView):
    """The same INSERT from a bare DRF view: no authentication, permission, throttle, idempotency or
    fincore parser, renderer or base view; what separates it from ``PingApi`` is fincore's API plumbing
    (both pass the same middleware, in the same server)."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {PING_TABLE} (merchant_id, created_at) VALUES (%s, now())", [NO_MERCHANT])
        return Response({"ok": True}, status=201)


# First: behind fincore's, each request would first fail every pattern under /api/v1/ (Django
# noting each one it tried), a cost no real endpoint pays.
urlpatterns = [
    path("api/v1/bench/ping", PingApi.as_view(), name="bench-ping"),
    path(BARE_PATH.lstrip("/"), BarePingApi.as_view(), name="bench-bare"),
    *fincore_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
