"""``Authorization: Bearer <secret key>`` for the merchant API."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.core import ids
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.merchants import selectors, services
from apps.merchants.models import ApiKey, Merchant


class InvalidApiKey(FincoreError):
    code = "invalid_api_key"
    title = "The API key is not valid"
    status = 401


class ApiKeyRevoked(FincoreError):
    code = "api_key_revoked"
    title = "The API key has been revoked"
    status = 401


class MerchantSuspended(FincoreError):
    code = "merchant_suspended"
    title = "The merchant is suspended"
    status = 403


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a merchant by one of its secret keys.

    ``request.user`` is the :class:`Merchant`; ``request.auth`` is the key's
    :class:`~apps.core.actors.Actor`, which scopes idempotency keys and rate limits, says
    whether the request is live or test, and is recorded in the audit journal.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Merchant, Actor] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        # Authentication schemes are case-insensitive (RFC 9110, section 11.1).
        if scheme.lower() != self.keyword.lower() or not secret or " " in secret:
            raise exceptions.AuthenticationFailed(
                "Send the secret key as 'Authorization: Bearer fc_live_...'.", code=InvalidApiKey.code
            )
        api_key = selectors.api_key_by_secret_hash(services.hash_secret(secret))
        if api_key is None:
            raise exceptions.AuthenticationFailed("No such API key.", code=InvalidApiKey.code)
        if api_key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.", code=ApiKeyRevoked.code)
        if not api_key.merchant.is_active:
            # Authenticated but not allowed: 403 rather than 401, so the merchant knows the key is right.
            raise exceptions.PermissionDenied(
                "This merchant is suspended; contact support.", code=MerchantSuspended.code
            )
        services.api_key_mark_used(api_key=api_key)
        actor = Actor.api_key(
            key_id=ids.encode("key", api_key.id), label=f"{api_key.hint}… ({api_key.name})",
            merchant_id=str(api_key.merchant_id), livemode=api_key.mode == ApiKey.Mode.LIVE,
        )
        return api_key.merchant, actor

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret key, `fc_test_...` or `fc_live_...`, from your fincore contact.",
        }
