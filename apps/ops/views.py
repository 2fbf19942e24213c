from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.core.api.problems import ServiceUnavailable, django_error_response
from apps.ops import health, metrics


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving (it checks nothing else, so it never flaps)."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """PostgreSQL, RabbitMQ and Redis all answer; 503 names the ones that do not."""
    checks = health.readiness()
    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        return django_error_response(
            request, ServiceUnavailable, detail=f"Not ready: {', '.join(down)} down.", checks=checks
        )
    return JsonResponse({"status": "ready", "checks": checks})


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(metrics.scrape_registry()), content_type=CONTENT_TYPE_LATEST)
