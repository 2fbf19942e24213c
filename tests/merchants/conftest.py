import pytest
from rest_framework.test import APIClient

from apps.merchants.models import Merchant
from tests.factories.merchants import authenticated_client, merchant_with_key


@pytest.fixture
def merchant_and_secret(db) -> tuple[Merchant, str]:
    return merchant_with_key()


@pytest.fixture
def merchant(merchant_and_secret: tuple[Merchant, str]) -> Merchant:
    return merchant_and_secret[0]


@pytest.fixture
def secret(merchant_and_secret: tuple[Merchant, str]) -> str:
    return merchant_and_secret[1]


@pytest.fixture
def merchant_client(secret: str) -> APIClient:
    return authenticated_client(secret)
