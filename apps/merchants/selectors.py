"""Reading merchants and keys. API callers always pass their own merchant id."""

from typing import Any

from django.db.models import QuerySet

from apps.merchants.models import ApiKey, Merchant


def api_key_by_secret_hash(secret_hash: str) -> ApiKey | None:
    return ApiKey.objects.select_related("merchant").filter(secret_hash=secret_hash).first()


def api_key_list(*, merchant_id: Any) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(merchant_id=merchant_id)


def api_key_get(*, merchant_id: Any, api_key_id: Any) -> ApiKey | None:
    return ApiKey.objects.filter(merchant_id=merchant_id, pk=api_key_id).first()


def merchant_by_legal_name(legal_name: str) -> Merchant | None:
    return Merchant.objects.filter(legal_name=legal_name).order_by("created_at").first()
