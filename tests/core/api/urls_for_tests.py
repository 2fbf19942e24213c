"""The project's URLs plus views that exist only for tests: one that crashes, one that blocks,
plain Django views under /api/.

Mount with ``@pytest.mark.urls("tests.core.api.urls_for_tests")``; Django's error handlers
are the project's, so errors render exactly as in production.
"""

import threading

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.views import ApiView
from fincore.urls import handler400, handler403, handler404, handler500
from fincore.urls import urlpatterns as project_urlpatterns

SECRET_IN_EXCEPTION = "password=hunter2 at /srv/fincore/apps/secret.py"


class Gate:
    """Holds every request to ``BlockingApi`` inside its handler until the test opens it."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.calls: list[object] = []
        self._lock = threading.Lock()

    def pass_through(self, body: object) -> None:
        with self._lock:
            self.calls.append(body)
        self.entered.set()
        if not self.opened.wait(timeout=10):
            raise TimeoutError("the test never opened the gate")


gate = Gate()


class BlockingApi(ApiView):
    def post(self, request: Request) -> Response:
        gate.pass_through(request.data)
        return Response({"ran": len(gate.calls)}, status=201)


class _AddressSerializer(serializers.Serializer):
    country = serializers.CharField(max_length=2)


class OrderSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1)
    currency = serializers.CharField()
    address = _AddressSerializer()
    tags = serializers.ListField(child=serializers.CharField(max_length=3))

    def validate(self, attrs: dict) -> dict:
        if attrs["currency"] != "BHD":
            raise serializers.ValidationError("Only BHD orders are accepted.", code="currency_unsupported")
        return attrs


class ValidatingApi(ApiView):
    def post(self, request: Request) -> Response:
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class CrashingApi(ApiView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET_IN_EXCEPTION)

    def post(self, request: Request) -> Response:
        raise RuntimeError(SECRET_IN_EXCEPTION)


def crashing_django_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_IN_EXCEPTION)


def forbidding_django_view(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def form_django_view(request: HttpRequest) -> HttpResponse:
    """A plain Django view: CSRF-protected, reading its body as Django does."""
    return HttpResponse(f"read {len(request.body)} bytes")


urlpatterns = [
    path("api/v1/tests/blocking", BlockingApi.as_view()),
    path("api/v1/tests/orders", ValidatingApi.as_view()),
    path("api/v1/tests/crashing", CrashingApi.as_view()),
    path("api/v1/tests/crashing-outside-drf", crashing_django_view),
    path("api/v1/tests/forbidden-outside-drf", forbidding_django_view),
    path("api/v1/tests/form-outside-drf", form_django_view),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
