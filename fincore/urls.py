from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import csrf, defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.api.problems import (
    InternalError,
    NotFound,
    PermissionDenied,
    django_error_response,
    django_refusal,
)
from apps.ops import views as ops_views

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("apps.core.api.urls")),
    path("", include("apps.merchants.api.urls")),
    path("", include("apps.ledger.api.urls")),
    path("", include("apps.payments.api.urls")),
    path("", include("apps.treasury.api.urls")),
    path("", include("apps.settlement.api.urls")),
    path("", include("apps.events.webhooks.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# Django's own error responses: problem details under /api/, its pages elsewhere.


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        refusal = django_refusal(exception)
        return django_error_response(request, type(refusal), detail=refusal.detail, **refusal.extensions)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return django_error_response(request, PermissionDenied)
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. API views are exempt (a key, not a cookie, authenticates them); a
    form posted under /api/ anyway is refused like any other forbidden request."""
    if _is_api(request):
        return django_error_response(request, PermissionDenied, detail="CSRF verification failed.")
    return csrf.csrf_failure(request, reason)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return django_error_response(request, NotFound, detail=f"No endpoint {request.path}.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return django_error_response(request, InternalError)
    return defaults.server_error(request)
