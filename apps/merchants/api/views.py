from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import ids
from apps.core.api.problems import NotFound
from apps.core.api.views import ApiView, GenericApiView
from apps.merchants import selectors, services
from apps.merchants.api.serializers import ApiKeyRevokeSerializer, ApiKeySerializer, MerchantSerializer
from apps.merchants.models import ApiKey


def _own_api_key(request: Request, public_id: str) -> ApiKey:
    """The caller's key with that id, of the caller's mode.

    Anybody else's key, a key of the other mode (a test key asking about a live one), or a
    malformed id, is simply not found.
    """
    api_key_id = ids.decode("key", public_id)
    api_key = (
        selectors.api_key_get(merchant_id=request.user.pk, livemode=request.auth.livemode, api_key_id=api_key_id)
        if api_key_id
        else None
    )
    if api_key is None:
        raise NotFound(f"No API key {public_id!r}.")
    return api_key


class MerchantRetrieveApi(ApiView):
    @extend_schema(operation_id="merchant_retrieve", responses=MerchantSerializer, tags=["merchant"])
    def get(self, request: Request) -> Response:
        """The merchant the calling key belongs to."""
        return Response(MerchantSerializer(request.user, context={"request": request}).data)


class ApiKeyListApi(GenericApiView):
    serializer_class = ApiKeySerializer

    @extend_schema(operation_id="api_keys_list", responses=ApiKeySerializer(many=True), tags=["api keys"])
    def get(self, request: Request) -> Response:
        """The merchant's API keys of the calling key's mode, newest first (secrets are never shown again)."""
        page = self.paginate_queryset(
            selectors.api_key_list(merchant_id=request.user.pk, livemode=request.auth.livemode)
        )
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)


class ApiKeyRetrieveApi(ApiView):
    @extend_schema(operation_id="api_keys_retrieve", responses=ApiKeySerializer, tags=["api keys"])
    def get(self, request: Request, api_key_id: str) -> Response:
        """One of the merchant's API keys of the calling key's mode (its secret is never shown again)."""
        return Response(ApiKeySerializer(_own_api_key(request, api_key_id)).data)


class ApiKeyRevokeApi(ApiView):
    @extend_schema(
        operation_id="api_keys_revoke", request=ApiKeyRevokeSerializer, responses=ApiKeySerializer, tags=["api keys"]
    )
    def post(self, request: Request, api_key_id: str) -> Response:
        """Revoke one of the merchant's keys of the calling key's mode (the calling key included) for good."""
        api_key = _own_api_key(request, api_key_id)
        serializer = ApiKeyRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        revoked = services.api_key_revoke(
            api_key_id=api_key.pk, merchant_id=request.user.pk, livemode=request.auth.livemode, actor=request.auth,
            reason=serializer.validated_data["reason"],
        )
        return Response(ApiKeySerializer(revoked).data)
