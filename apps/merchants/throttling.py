from django.conf import settings
from rest_framework.request import Request

from apps.core.api.throttling import RedisRateThrottle


class ApiKeyRateThrottle(RedisRateThrottle):
    """Each API key has its own budget; the merchant's rate (set in the admin) or the default."""

    scope = "api_key"

    def cache_key(self, request: Request) -> str | None:
        actor = request.auth
        return actor.id if actor is not None else None

    def rate(self, request: Request) -> str:
        return request.user.rate_limit or settings.FINCORE_API_RATE_LIMIT
