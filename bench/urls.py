"""fincore's URLs plus the benchmark's trivial endpoint (``bench.settings`` only, never in the product)."""

from django.db import connection
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.views import ApiView
from fincore.urls import handler404, handler500
from fincore.urls import urlpatterns as fincore_urlpatterns

PING_TABLE = "bench_ping"


class PingApi(ApiView):
    """The floor under every API figure: the real authentication, throttle, idempotency and
    base view, then one single-row INSERT in its own transaction (the table exists only in the
    benchmark's database; ``bench.ledger`` creates it)."""

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {PING_TABLE} (merchant_id, created_at) VALUES (%s, now())", [request.user.pk])
        return Response({"ok": True}, status=201)


urlpatterns = [
    *fincore_urlpatterns,
    path("api/v1/bench/ping", PingApi.as_view(), name="bench-ping"),
]

__all__ = ["handler404", "handler500", "urlpatterns"]
