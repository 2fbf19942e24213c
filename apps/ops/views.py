import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.core.api.problems import AuthenticationFailed, NotAuthenticated, ServiceUnavailable, django_error_response
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


def _metrics_refusal(request: HttpRequest) -> JsonResponse | None:
    """A 401 problem unless the request carries ``Authorization: Bearer <FINCORE_METRICS_TOKEN>``.

    Without a token configured (development) /metrics is open.
    """
    token = settings.FINCORE_METRICS_TOKEN
    if not token:
        return None
    authorization = request.headers.get("Authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if not authorization:
        refusal = django_error_response(
            request, NotAuthenticated, detail="Send the metrics token as 'Authorization: Bearer <token>'."
        )
    # Constant time, so the token cannot be guessed a character at a time from response times.
    elif scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
        return None
    else:
        refusal = django_error_response(request, AuthenticationFailed, detail="The metrics token is not valid.")
    refusal["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return refusal


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text; with FINCORE_METRICS_TOKEN set, only for a scraper that sends it."""
    if refusal := _metrics_refusal(request):
        return refusal
    return HttpResponse(generate_latest(metrics.scrape_registry()), content_type=CONTENT_TYPE_LATEST)
