"""Merchants and API keys, made through the services so every row has its audit event."""

import factory
from rest_framework.test import APIClient

from apps.core.actors import Actor
from apps.merchants import services
from apps.merchants.models import ApiKey, Merchant

FACTORY_ACTOR = Actor.system("tests.factories")


class MerchantFactory(factory.Factory):
    """``MerchantFactory()`` is an active BHD merchant in Bahrain, created by ``merchant_create``."""

    class Meta:
        model = Merchant

    legal_name = factory.Sequence(lambda n: f"Merchant {n} W.L.L.")
    country = "BH"
    currencies = factory.LazyFunction(lambda: ["BHD"])
    rate_limit = ""

    @classmethod
    def _create(cls, model_class: type[Merchant], **fields: object) -> Merchant:
        return services.merchant_create(actor=FACTORY_ACTOR, **fields)


def api_key_issue(merchant: Merchant, *, mode: str = ApiKey.Mode.TEST, name: str = "checkout server") -> str:
    """Issue a key to ``merchant`` and return its secret."""
    return services.api_key_create(merchant_id=merchant.pk, name=name, mode=mode, actor=FACTORY_ACTOR).secret


def merchant_with_key(*, mode: str = ApiKey.Mode.TEST, **merchant_fields: object) -> tuple[Merchant, str]:
    """A new merchant and the secret of its one key."""
    merchant = MerchantFactory(**merchant_fields)
    return merchant, api_key_issue(merchant, mode=mode)


def api_key_of(secret: str) -> ApiKey:
    return ApiKey.objects.get(secret_hash=services.hash_secret(secret))


def authenticated_client(secret: str) -> APIClient:
    """An API client sending ``Authorization: Bearer <secret>`` with every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client
